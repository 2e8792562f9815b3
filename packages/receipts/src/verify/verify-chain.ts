import { resolveLimits, type VerifyLimits } from '../limits';
import { CheckpointCheck } from './checkpoints';
import { IssueLog } from './issue-log';
import type { VerifyMode, VerifyOptions, VerifyReport } from './options';
import { ChainOrder } from './order';
import { ChainOwner } from './owner';
import { checkBody, checkLeaf, parseRecord } from './record';
import { SignatureCheck } from './signatures';

/**
 * Streaming chain verifier. Feed it one stored record (a JSON line) at a time, in file order;
 * it never throws on bad data, and reports every issue with its code and seq. Call `finish()`
 * (or `close()` when abandoning) so its worker threads end.
 *
 * Each receipt is parsed, placed in the chain's order (owner, seq, link, time), checked for
 * its signature, and added to the tree the checkpoints are compared with.
 */
export class ChainVerifier {
  private readonly mode: VerifyMode;
  private readonly limits: VerifyLimits;
  private readonly log: IssueLog;
  private readonly owner: ChainOwner;
  private readonly checkpoints: CheckpointCheck;
  private readonly order: ChainOrder;
  private readonly signatures: SignatureCheck;
  private lines = 0;
  private blankLines = 0;
  private count = 0;

  constructor(private readonly options: VerifyOptions) {
    this.mode = options.mode ?? 'full';
    this.limits = resolveLimits(options.limits);
    this.log = new IssueLog(this.limits, () => this.lines);
    this.owner = new ChainOwner(options.expectedChain, this.log);
    this.checkpoints = new CheckpointCheck(
      options.checkpoints ?? [],
      options.keyring,
      this.owner,
      this.log,
      this.limits,
    );
    this.order = new ChainOrder(this.owner, this.log, options.from);
    // Checkpoint mode only signs what no checkpoint covers: usually a short tail, so inline.
    this.signatures = new SignatureCheck(options.keyring, this.log, {
      threads: options.threads,
      inline: this.mode === 'checkpoint',
    });
  }

  /**
   * True once a limit was exceeded: the verdict is INVALID (LIMIT_EXCEEDED), further lines are
   * ignored, and a caller should stop reading.
   */
  get stopped(): boolean {
    return this.log.stopped;
  }

  /**
   * Stops the verification at a limit the caller enforces (an archive's declared size or count):
   * reports LIMIT_EXCEEDED with `detail`, always listed, and ignores everything after it.
   */
  stop(detail: string): void {
    this.log.stop(detail);
  }

  /** Checks one line of an export (one stored record). */
  async push(line: string, lineNo = this.count + 1): Promise<void> {
    if (this.log.stopped) return;
    this.lines += 1;
    if (line.trim() === '') {
      this.blankLine();
      return;
    }
    this.count += 1;
    const parsed = parseRecord(line, lineNo, this.log);
    if (parsed === null) return;
    const { record, body } = parsed;
    const seq = this.order.positionOf(body);
    // In checkpoint mode a receipt a trusted checkpoint covers needs only hashes and links.
    const thorough = this.mode === 'full' || !this.checkpoints.vouchesForNext();
    if (thorough) checkBody(parsed, seq, lineNo, this.log);
    const leaf = checkLeaf(record, seq, this.log);
    const leafHex = leaf.toString('hex');
    this.owner.check(body, seq);
    this.order.check(body, seq, leafHex);
    if (thorough) await this.signatures.check(record, body, seq);
    this.checkpoints.append(leaf, leafHex);
  }

  private blankLine(): void {
    this.blankLines += 1;
    if (this.blankLines > this.limits.maxBlankLines)
      this.log.stop(
        `more than ${this.limits.maxBlankLines} blank lines, by line ${this.lines}: the rest was not read`,
      );
  }

  /** Ends the worker threads without a report: for a caller abandoning the stream. */
  async close(): Promise<void> {
    await this.signatures.close();
  }

  async finish(): Promise<VerifyReport> {
    await this.signatures.finish();
    // Stopped early, the chain's end is unknown: TRUNCATED or EMPTY would be guesses.
    if (!this.log.stopped) this.checkpoints.finish(this.order.next);
    if (this.count === 0 && this.log.listed === 0 && this.options.allowEmpty !== true)
      this.log.report(
        'EMPTY',
        null,
        'no receipts: nothing was verified (an empty chain is valid only when expected)',
      );
    const issues = this.log.sorted();
    const span = this.order.span;
    return {
      ok: issues.length === 0 && this.log.omitted === 0,
      mode: this.mode,
      chain: this.owner.chain,
      count: this.count,
      first_seq: span.first,
      last_seq: span.last,
      head_hash: span.head,
      checkpoints_verified: this.checkpoints.verified,
      issues,
      issues_omitted: this.log.omitted,
    };
  }
}

/** Verifies a whole chain given as lines (an array, a file's lines, a stream's lines). */
export async function verifyLines(
  lines: Iterable<string> | AsyncIterable<string>,
  options: VerifyOptions,
): Promise<VerifyReport> {
  const verifier = new ChainVerifier(options);
  try {
    for await (const line of lines) await verifier.push(line);
  } catch (e) {
    await verifier.close();
    throw e;
  }
  return verifier.finish();
}
