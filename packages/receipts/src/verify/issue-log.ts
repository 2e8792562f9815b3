import type { IssueCode, VerifyIssue } from '../issues';
import { clip, type VerifyLimits } from '../limits';

/**
 * The issues a verification found: the first `maxIssuesListed` are kept, the rest counted, and
 * once `maxIssues` are found, or a caller stops it at a limit, nothing more is recorded.
 */
export class IssueLog {
  private readonly issues: VerifyIssue[] = [];
  private found = 0;
  private halted = false;
  private unlisted = 0;

  constructor(
    private readonly limits: VerifyLimits,
    /** Lines read so far, for the message when `maxIssues` stops the verification. */
    private readonly linesRead: () => number,
  ) {}

  report(code: IssueCode, seq: number | null, detail: string): void {
    if (this.halted) return;
    this.found += 1;
    if (this.issues.length < this.limits.maxIssuesListed) this.issues.push({ code, seq, detail });
    else this.unlisted += 1;
    if (this.found >= this.limits.maxIssues)
      this.stop(`${this.found} issues found by line ${this.linesRead()}: the rest was not read`);
  }

  /** Reports LIMIT_EXCEEDED with `detail`, always listed, and ignores every issue after it. */
  stop(detail: string): void {
    if (this.halted) return;
    this.halted = true;
    this.issues.push({ code: 'LIMIT_EXCEEDED', seq: null, detail });
  }

  get stopped(): boolean {
    return this.halted;
  }

  /** Issues found but not listed. */
  get omitted(): number {
    return this.unlisted;
  }

  get listed(): number {
    return this.issues.length;
  }

  /** By seq, and LIMIT_EXCEEDED first: it says the rest of the report covers only what was read. */
  sorted(): VerifyIssue[] {
    const rank = (i: VerifyIssue) => (i.code === 'LIMIT_EXCEEDED' ? -2 : (i.seq ?? -1));
    return [...this.issues].sort((a, b) => rank(a) - rank(b));
  }
}

/** A short, safe rendering of an untrusted value for an issue's detail. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(clip(value));
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `a ${Array.isArray(value) ? 'array' : typeof value}`;
}
