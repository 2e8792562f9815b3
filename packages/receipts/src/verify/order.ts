import { genesisHash } from '../hash';
import { describe, type IssueLog } from './issue-log';
import type { ChainOwner } from './owner';
import { seqOf } from './record';

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
 * Where the chain stands, and the checks of each receipt against it: seqs in order without gaps
 * or forks, each receipt linked to the one before, timestamps that never go back.
 */
export class ChainOrder {
  private firstSeq: number | null = null;
  private lastSeq: number | null = null;
  private lastLeaf: string | null = null;
  private lastTimestamp: string | null = null;
  private readonly seen = new SeqRuns();
  private misnumbered = false;

  constructor(
    private readonly owner: ChainOwner,
    private readonly log: IssueLog,
    from?: { readonly seq: number; readonly prev_hash: string },
  ) {
    if (from && from.seq > 0) {
      this.lastSeq = from.seq - 1;
      this.lastLeaf = from.prev_hash;
    }
  }

  /** The first and last seqs in order, and the last one's leaf hash: the chain's head. */
  get span(): { first: number | null; last: number | null; head: string | null } {
    return { first: this.firstSeq, last: this.lastSeq, head: this.lastLeaf };
  }

  /** The seq the next receipt should have. */
  get next(): number {
    return this.lastSeq === null ? 0 : this.lastSeq + 1;
  }

  /**
   * The seq a receipt stands at. Normally its own seq field; but a receipt that links to the
   * previous one while claiming another seq has a corrupted seq field, not a gap, and is
   * reported where it stands so one bad digit does not cascade into a flood of gap issues.
   */
  positionOf(body: Record<string, unknown>): number | null {
    const claimed = seqOf(body);
    const expected = this.next;
    if (claimed === expected) return claimed;
    const link =
      expected === 0
        ? genesisHash(this.owner.chain ?? (typeof body.chain === 'string' ? body.chain : ''))
        : this.lastLeaf;
    if (body.prev_hash === link) {
      this.log.report(
        'CHAIN_BROKEN',
        expected,
        `seq field says ${describe(body.seq)} but the receipt links to seq ${expected - 1}`,
      );
      this.misnumbered = true;
      return expected;
    }
    return claimed;
  }

  /** Checks a receipt at `seq` (from `positionOf`) and, unless it is out of order, advances to it. */
  check(body: Record<string, unknown>, seq: number | null, leafHex: string): void {
    const misnumbered = this.misnumbered;
    this.misnumbered = false;
    if (seq === null) {
      this.log.report('SCHEMA_INVALID', null, 'receipt has no valid seq');
      return;
    }
    const expected = this.next;
    if (seq < expected) {
      if (this.seen.has(seq)) this.log.report('FORK', seq, `a second receipt at seq ${seq}`);
      else this.log.report('SEQ_GAP', seq, `seq ${seq} arrives out of order, after seq ${this.lastSeq}`);
      return;
    }
    if (seq > expected) {
      this.log.report(
        'SEQ_GAP',
        expected,
        seq === expected + 1 ? `seq ${expected} is missing` : `seqs ${expected}..${seq - 1} are missing`,
      );
    } else {
      const want = seq === 0 ? genesisHash(this.owner.chain ?? '') : this.lastLeaf;
      if (body.prev_hash !== want && !misnumbered) {
        this.log.report(
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
      this.log.report(
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
}
