import { parseChainId, ReceiptBody } from '@governor/contracts';
import { canonicalize } from './canonical';
import {
  checkpointSignatureProblem,
  noteWithin,
  originOf,
  parseCheckpoint,
  type SignedCheckpoint,
} from './checkpoint';
import { genesisHash, leafHash } from './hash';
import type { VerifyIssue, IssueCode } from './issues';
import { Keyring } from './keys';
import { resolveLimits, type VerifyLimits } from './limits';
import { OVERSIZE_LINE } from './lines';
import { CompactRange } from './merkle';
import { RECEIPT_PAYLOAD_TYPE } from './signature';
import { InlineSignatureChecker, SignaturePool, type SignatureChecker } from './signature-pool';

export type VerifyMode = 'full' | 'checkpoint';

export interface VerifyOptions {
  readonly keyring: Keyring;
  /** The chain the receipts must belong to; otherwise the first receipt's chain is taken. */
  readonly expectedChain?: string;
  /** Signed checkpoint notes (text) the chain must be consistent with. */
  readonly checkpoints?: readonly string[];
  /**
   * `full` checks every receipt (canonical bytes, schema, hash, links, signature, key validity).
   * `checkpoint` checks hashes and links, and trusts signatures only on checkpoints for the
   * receipts a trusted checkpoint covers; receipts past the last trusted checkpoint still get
   * every check. Much faster, and as strong, for a chain that is checkpointed.
   */
  readonly mode?: VerifyMode;
  /** Worker threads for signatures; 0 checks them on the calling thread. Default: one per core. */
  readonly threads?: number;
  /**
   * Verify a segment instead of a whole chain: the first receipt fed must be `seq` and link to
   * `prev_hash`. Checkpoints cannot be checked on a segment.
   */
  readonly from?: { readonly seq: number; readonly prev_hash: string };
  /** Bounds on issues, blank lines and checkpoints (defaults in limits.ts). */
  readonly limits?: Partial<VerifyLimits>;
  /**
   * An input with no receipt is INVALID (EMPTY) unless this says an empty chain is expected:
   * an empty or unreadable export must never read as a valid chain.
   */
  readonly allowEmpty?: boolean;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly mode: VerifyMode;
  readonly chain: string | null;
  readonly count: number;
  readonly first_seq: number | null;
  readonly last_seq: number | null;
  readonly head_hash: string | null;
  readonly checkpoints_verified: number;
  /** The first `maxIssuesListed` issues, and LIMIT_EXCEEDED if reading stopped at a limit. */
  readonly issues: VerifyIssue[];
  /** Issues found but not listed. */
  readonly issues_omitted: number;
}

interface RecordShape {
  body: string;
  leaf_hash: string;
  signature: string;
  key_id: string;
}

const RECORD_FIELDS = ['body', 'leaf_hash', 'signature', 'key_id'] as const;

function asRecord(value: unknown): RecordShape | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'record is not a JSON object';
  const r = value as Record<string, unknown>;
  for (const field of RECORD_FIELDS) {
    if (typeof r[field] !== 'string') return `record field "${field}" is missing or not a string`;
  }
  const extra = Object.keys(r).filter((k) => !(RECORD_FIELDS as readonly string[]).includes(k));
  if (extra.length > 0) return `record has unknown fields: ${extra.slice(0, 5).join(', ')}`;
  return r as unknown as RecordShape;
}

/** A short, safe rendering of an untrusted value for an issue's detail. */
function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return `a ${Array.isArray(value) ? 'array' : typeof value}`;
}

/**
 * The seqs seen, as runs of consecutive seqs. Seqs are only ever added in increasing order, so
 * an honest chain is one run however long, and each further run is a gap already reported: a
 * hostile chain of wild seqs costs a few numbers per issue (a page per seq would cost 8 KiB).
 */
class SeqRuns {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  has(seq: number): boolean {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (seq < (this.starts[mid] as number)) hi = mid - 1;
      else if (seq > (this.ends[mid] as number)) lo = mid + 1;
      else return true;
    }
    return false;
  }
  /** Adds a seq above every seq added before. */
  add(seq: number): void {
    const last = this.ends.length - 1;
    if (last >= 0 && this.ends[last] === seq - 1) this.ends[last] = seq;
    else {
      this.starts.push(seq);
      this.ends.push(seq);
    }
  }
}

/**
 * Streaming chain verifier. Feed it one stored record (a JSON line) at a time, in file order;
 * it never throws on bad data, and reports every issue with its code and seq. Call `finish()`
 * (or `close()` when abandoning) so its worker threads end.
 */
export class ChainVerifier {
  private readonly mode: VerifyMode;
  private readonly limits: VerifyLimits;
  private readonly issues: VerifyIssue[] = [];
  private omitted = 0;
  private found = 0;
  private lines = 0;
  private blankLines = 0;
  private halted = false;
  private chain: string | null;
  private owner: { kind: 'tenants' | 'workers'; owner: string } | undefined;
  private count = 0;
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;
  private lastLeaf: string | null = null;
  private lastTimestamp: string | null = null;
  private readonly seen = new SeqRuns();
  private readonly tree = CompactRange.empty();
  /** Checkpoints whose signature and key are trusted; only these vouch for receipts. */
  private readonly checkpoints: SignedCheckpoint[] = [];
  /** The same, by size: each receipt looks up its size instead of scanning every checkpoint. */
  private readonly checkpointsAt = new Map<number, SignedCheckpoint[]>();
  private readonly compared = new Set<SignedCheckpoint>();
  /** In checkpoint mode, receipts below this size are vouched for by a trusted checkpoint. */
  private readonly coveredSize: number;
  private checkpointsVerified = 0;
  private misnumbered = false;
  private readonly signatures: SignatureChecker;

  constructor(private readonly options: VerifyOptions) {
    this.mode = options.mode ?? 'full';
    this.limits = resolveLimits(options.limits);
    this.chain = options.expectedChain ?? null;
    if (this.chain !== null) this.owner = parseChainId(this.chain);
    const texts = [...new Set(options.checkpoints ?? [])];
    if (texts.length > this.limits.maxCheckpoints)
      this.stop(
        `${texts.length} checkpoint notes, more than the ${this.limits.maxCheckpoints} a verification considers`,
      );
    for (const text of texts) {
      if (this.halted) break;
      if (!noteWithin(text, this.limits.maxNoteBytes)) {
        this.report(
          'LIMIT_EXCEEDED',
          null,
          `a checkpoint note is larger than ${this.limits.maxNoteBytes} bytes: not read`,
        );
        continue;
      }
      let note: SignedCheckpoint;
      try {
        note = parseCheckpoint(text, this.limits.maxNoteBytes);
      } catch (e) {
        this.report('CHECKPOINT_MISMATCH', null, (e as Error).message);
        continue;
      }
      // A checkpoint that is not trusted vouches for nothing, so it can neither cover receipts
      // nor claim the chain is truncated.
      const problem = checkpointSignatureProblem(note, options.keyring);
      const size = note.checkpoint.size;
      if (problem !== null)
        this.report(
          'CHECKPOINT_MISMATCH',
          size > 0 ? size - 1 : null,
          `checkpoint at size ${size}: ${problem}`,
        );
      else if (this.chain !== null && note.checkpoint.origin !== originOf(this.chain)) {
        this.report(
          'CHECKPOINT_MISMATCH',
          null,
          `checkpoint origin ${note.checkpoint.origin} is not ${originOf(this.chain)}`,
        );
      } else this.checkpoints.push(note);
    }
    this.checkpoints.sort((a, b) => a.checkpoint.size - b.checkpoint.size);
    for (const cp of this.checkpoints) {
      const at = this.checkpointsAt.get(cp.checkpoint.size);
      if (at) at.push(cp);
      else this.checkpointsAt.set(cp.checkpoint.size, [cp]);
    }
    this.coveredSize =
      this.mode === 'checkpoint' ? (this.checkpoints[this.checkpoints.length - 1]?.checkpoint.size ?? 0) : 0;
    if (options.from && options.from.seq > 0) {
      this.lastSeq = options.from.seq - 1;
      this.lastLeaf = options.from.prev_hash;
    }
    const keys = options.keyring.entries().map((e) => [e.key_id, e.public_key] as const);
    const onInvalid = (seq: number) =>
      this.report(
        'SIGNATURE_INVALID',
        seq < 0 ? null : seq,
        'Ed25519 signature over the DSSE envelope does not verify',
      );
    // Checkpoint mode only signs what no checkpoint covers: usually a short tail, so inline.
    this.signatures =
      options.threads === 0 || this.mode === 'checkpoint'
        ? new InlineSignatureChecker(keys, RECEIPT_PAYLOAD_TYPE, onInvalid)
        : new SignaturePool(keys, RECEIPT_PAYLOAD_TYPE, onInvalid, options.threads);
  }

  private report(code: IssueCode, seq: number | null, detail: string): void {
    if (this.halted) return;
    this.found += 1;
    if (this.issues.length < this.limits.maxIssuesListed) this.issues.push({ code, seq, detail });
    else this.omitted += 1;
    if (this.found >= this.limits.maxIssues)
      this.stop(`${this.found} issues found by line ${this.lines}: the rest was not read`);
  }

  /**
   * True once a limit was exceeded: the verdict is INVALID (LIMIT_EXCEEDED), further lines are
   * ignored, and a caller should stop reading.
   */
  get stopped(): boolean {
    return this.halted;
  }

  /**
   * Stops the verification at a limit the caller enforces (an archive's declared size or count):
   * reports LIMIT_EXCEEDED with `detail`, always listed, and ignores everything after it.
   */
  stop(detail: string): void {
    if (this.halted) return;
    this.halted = true;
    this.issues.push({ code: 'LIMIT_EXCEEDED', seq: null, detail });
  }

  /** Checks one line of an export (one stored record). */
  async push(line: string, lineNo = this.count + 1): Promise<void> {
    if (this.halted) return;
    this.lines += 1;
    if (line.trim() === '') {
      this.blankLines += 1;
      if (this.blankLines > this.limits.maxBlankLines)
        this.stop(
          `more than ${this.limits.maxBlankLines} blank lines, by line ${this.lines}: the rest was not read`,
        );
      return;
    }
    this.count += 1;
    if (line === OVERSIZE_LINE) {
      this.report('SCHEMA_INVALID', null, `line ${lineNo}: longer than any receipt can be`);
      return;
    }
    let parsedLine: unknown;
    try {
      parsedLine = JSON.parse(line);
    } catch {
      this.report('SCHEMA_INVALID', null, `line ${lineNo}: not JSON`);
      return;
    }
    const record = asRecord(parsedLine);
    if (typeof record === 'string') {
      this.report('SCHEMA_INVALID', null, `line ${lineNo}: ${record}`);
      return;
    }
    let body: Record<string, unknown>;
    try {
      const value: unknown = JSON.parse(record.body);
      body = (typeof value === 'object' && value !== null && !Array.isArray(value) ? value : {}) as Record<
        string,
        unknown
      >;
    } catch {
      this.report('NON_CANONICAL', null, `line ${lineNo}: body is not JSON`);
      return;
    }
    const seq = this.positionOf(body);
    // In checkpoint mode a receipt a trusted checkpoint covers needs only hashes and links.
    const thorough = this.mode === 'full' || this.tree.size >= this.coveredSize;
    if (thorough) {
      // The body is parsed already: re-canonicalise that value rather than parsing again.
      const reason = canonicalProblem(body, record.body);
      if (reason !== null) this.report('NON_CANONICAL', seq, `line ${lineNo}: ${reason}`);
      const schema = ReceiptBody.safeParse(body);
      if (!schema.success) {
        const first = schema.error.issues[0];
        this.report(
          'SCHEMA_INVALID',
          seq,
          `${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}`,
        );
      }
    }
    const leaf = leafHash(record.body);
    const leafHex = leaf.toString('hex');
    if (leafHex !== record.leaf_hash) {
      this.report(
        'HASH_MISMATCH',
        seq,
        `leaf_hash ${describe(record.leaf_hash.slice(0, 16))}… but body hashes to ${leafHex.slice(0, 16)}…`,
      );
    }
    this.checkOwner(body, seq);
    this.checkOrder(body, seq, leafHex);
    if (thorough) await this.checkSignature(record, body, seq);
    this.tree.append(leaf);
    this.checkCheckpointsAt(this.tree.size, leafHex);
  }

  /**
   * The seq a receipt stands at. Normally its own seq field; but a receipt that links to the
   * previous one while claiming another seq has a corrupted seq field, not a gap, and is
   * reported where it stands so one bad digit does not cascade into a flood of gap issues.
   */
  private positionOf(body: Record<string, unknown>): number | null {
    const claimed = seqOf(body);
    const expected = this.lastSeq === null ? 0 : this.lastSeq + 1;
    if (claimed === expected) return claimed;
    const link =
      expected === 0
        ? genesisHash(this.chain ?? (typeof body.chain === 'string' ? body.chain : ''))
        : this.lastLeaf;
    if (body.prev_hash === link) {
      this.report(
        'CHAIN_BROKEN',
        expected,
        `seq field says ${describe(body.seq)} but the receipt links to seq ${expected - 1}`,
      );
      this.misnumbered = true;
      return expected;
    }
    return claimed;
  }

  private checkOwner(body: Record<string, unknown>, seq: number | null): void {
    const chain = typeof body.chain === 'string' ? body.chain : null;
    // Without an expected chain, take the first receipt's, unless that receipt is visibly
    // damaged (an impossible chain id, or a seq 0 whose genesis link does not match it):
    // one tampered first receipt must not turn every later receipt into a mismatch.
    if (this.chain === null) {
      if (chain === null || !parseChainId(chain) || (seq === 0 && body.prev_hash !== genesisHash(chain)))
        return;
      this.chain = chain;
      this.owner = parseChainId(chain);
    }
    if (chain !== this.chain)
      this.report(
        'ACCOUNT_MISMATCH',
        seq,
        `receipt belongs to chain ${describe(body.chain)}, expected ${this.chain}`,
      );
    if (!this.owner) return;
    const field = this.owner.kind === 'tenants' ? 'account_id' : 'worker_id';
    if (body[field] !== undefined && body[field] !== this.owner.owner) {
      this.report(
        'ACCOUNT_MISMATCH',
        seq,
        `${field} ${describe(body[field])} does not match chain ${this.chain}`,
      );
    }
  }

  private checkOrder(body: Record<string, unknown>, seq: number | null, leafHex: string): void {
    const misnumbered = this.misnumbered;
    this.misnumbered = false;
    if (seq === null) {
      this.report('SCHEMA_INVALID', null, 'receipt has no valid seq');
      return;
    }
    const expected = this.lastSeq === null ? 0 : this.lastSeq + 1;
    if (seq < expected) {
      if (this.seen.has(seq)) this.report('FORK', seq, `a second receipt at seq ${seq}`);
      else this.report('SEQ_GAP', seq, `seq ${seq} arrives out of order, after seq ${this.lastSeq}`);
      return;
    }
    if (seq > expected) {
      this.report(
        'SEQ_GAP',
        expected,
        seq === expected + 1 ? `seq ${expected} is missing` : `seqs ${expected}..${seq - 1} are missing`,
      );
    } else {
      const want = seq === 0 ? genesisHash(this.chain ?? '') : this.lastLeaf;
      if (body.prev_hash !== want && !misnumbered) {
        this.report(
          'CHAIN_BROKEN',
          seq,
          seq === 0
            ? 'prev_hash is not the genesis hash of the chain'
            : `prev_hash does not match the leaf hash of seq ${seq - 1}`,
        );
      }
    }
    const ts = typeof body.timestamp === 'string' ? body.timestamp : null;
    if (ts !== null && this.lastTimestamp !== null && ts < this.lastTimestamp) {
      this.report(
        'TIMESTAMP_REGRESSION',
        seq,
        `${describe(ts)} is before ${this.lastTimestamp} (seq ${this.lastSeq})`,
      );
    }
    this.seen.add(seq);
    this.firstSeq ??= seq;
    this.lastSeq = seq;
    this.lastLeaf = leafHex;
    if (ts !== null) this.lastTimestamp = ts;
  }

  private async checkSignature(
    record: RecordShape,
    body: Record<string, unknown>,
    seq: number | null,
  ): Promise<void> {
    const keyId = typeof body.key_id === 'string' ? body.key_id : record.key_id;
    if (record.key_id !== keyId)
      this.report(
        'SCHEMA_INVALID',
        seq,
        `record key_id ${describe(record.key_id)} differs from the signed key_id ${describe(keyId)}`,
      );
    const trusted = this.options.keyring.get(keyId);
    if (!trusted) {
      this.report('UNKNOWN_KEY', seq, `key ${describe(keyId)} is not in the keyring`);
      return;
    }
    if (typeof body.timestamp === 'string' && !Keyring.validAt(trusted.entry, body.timestamp)) {
      this.report(
        'KEY_NOT_VALID',
        seq,
        `key ${keyId} is valid [${trusted.entry.not_before}, ${trusted.entry.not_after ?? '…'}), receipt is at ${describe(body.timestamp)}`,
      );
    }
    await this.signatures.add(keyId, record.body, record.signature, seq ?? -1);
  }

  private checkCheckpointsAt(size: number, leafHex: string): void {
    for (const cp of this.checkpointsAt.get(size) ?? []) {
      this.compared.add(cp);
      const problems: string[] = [];
      if (this.chain !== null && cp.checkpoint.origin !== originOf(this.chain))
        problems.push(`origin ${cp.checkpoint.origin} is not ${originOf(this.chain)}`);
      if (!this.tree.root().equals(cp.checkpoint.root))
        problems.push('Merkle root differs from the receipts');
      if (cp.checkpoint.head_hash !== leafHex)
        problems.push('head hash differs from the receipt at this size');
      if (problems.length > 0)
        this.report('CHECKPOINT_MISMATCH', size - 1, `checkpoint at size ${size}: ${problems.join('; ')}`);
      else this.checkpointsVerified += 1;
    }
  }

  /** Ends the worker threads without a report: for a caller abandoning the stream. */
  async close(): Promise<void> {
    await this.signatures.close();
  }

  async finish(): Promise<VerifyReport> {
    try {
      await this.signatures.drain();
    } finally {
      await this.signatures.close();
    }
    const next = this.lastSeq === null ? 0 : this.lastSeq + 1;
    // Stopped early, the chain's end is unknown: TRUNCATED or EMPTY would be guesses.
    for (const cp of this.halted ? [] : this.checkpoints) {
      if (this.compared.has(cp)) continue;
      const size = cp.checkpoint.size;
      if (next < size)
        this.report(
          'TRUNCATED',
          next,
          `chain ends at seq ${next - 1} but a signed checkpoint covers ${size} receipts`,
        );
      // The chain reaches the checkpoint's size but its lines never added up to it (missing or
      // duplicated receipts in between), so the root could not be compared.
      else
        this.report(
          'CHECKPOINT_MISMATCH',
          size - 1,
          `checkpoint at size ${size}: receipts before it are missing or duplicated, so its root cannot be matched`,
        );
    }
    if (this.count === 0 && this.issues.length === 0 && this.options.allowEmpty !== true)
      this.report(
        'EMPTY',
        null,
        'no receipts: nothing was verified (an empty chain is valid only when expected)',
      );
    // By seq, and LIMIT_EXCEEDED first: it says the rest of the report covers only what was read.
    const rank = (i: VerifyIssue) => (i.code === 'LIMIT_EXCEEDED' ? -2 : (i.seq ?? -1));
    const issues = [...this.issues].sort((a, b) => rank(a) - rank(b));
    return {
      ok: issues.length === 0 && this.omitted === 0,
      mode: this.mode,
      chain: this.chain,
      count: this.count,
      first_seq: this.firstSeq,
      last_seq: this.lastSeq,
      head_hash: this.lastLeaf,
      checkpoints_verified: this.checkpointsVerified,
      issues,
      issues_omitted: this.omitted,
    };
  }
}

function canonicalProblem(value: unknown, text: string): string | null {
  try {
    return canonicalize(value) === text ? null : 'bytes differ from the canonical form';
  } catch (e) {
    return (e as Error).message;
  }
}

function seqOf(body: Record<string, unknown>): number | null {
  return typeof body.seq === 'number' && Number.isSafeInteger(body.seq) && body.seq >= 0 ? body.seq : null;
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
