/** What the consumer does with a record it has just fetched. */
export type FetchVerdict = 'deliver' | 'skip';

type State = 'pending' | 'nacked' | 'settled';

/**
 * The settlement state of one partition of one subscription: which offsets are handed out and
 * unsettled, which were nacked, which are settled, and how far the group's offset may be
 * committed. Pure: the subscription feeds it offsets and acts on its answers.
 *
 * Kafka offsets are per partition and cumulative: committing N says "everything below N is
 * done". So the commit point is the lowest offset not yet settled, never past it, whatever was
 * acked after it. A nack cannot be told to the broker either; the consumer seeks back to the
 * nacked offset, which fetches the records after it again too. Those are skipped here when this
 * consumer already holds (pending) or settled them, so a redelivery or a rebalance never hands
 * out a record twice or brings back an acked one.
 */
export class OffsetTracker {
  /** Every offset below is settled. Set by the first record fetched (where the group's offset was). */
  private floor: number | undefined;
  /** The highest offset handed out or settled. */
  private highest: number | undefined;
  /** States of offsets at or above `floor`; settled ones are pruned once the floor passes them. */
  private readonly states = new Map<number, State>();
  /** Nacked offsets whose redelivery delay has passed: the consumer should be reading from the lowest. */
  private readonly due = new Set<number>();
  private pending = 0;

  /** Handed out and not yet settled: what flow control counts. */
  get outstanding(): number {
    return this.pending;
  }

  /** Decides a fetched record's fate: delivered unless this consumer holds or settled it. */
  onFetched(offset: number): FetchVerdict {
    this.floor ??= offset;
    if (offset < this.floor) return 'skip';
    const state = this.states.get(offset);
    return state === 'pending' || state === 'settled' ? 'skip' : 'deliver';
  }

  /** The record at `offset` was handed to the subscriber (first time or again after a nack). */
  delivered(offset: number): void {
    this.states.set(offset, 'pending');
    this.due.delete(offset);
    this.pending += 1;
    this.raise(offset);
  }

  /** The record at `offset` is done without a delivery (it did not decode): committed like an ack. */
  skipped(offset: number): void {
    if (this.states.get(offset) === 'pending') this.pending -= 1;
    this.states.set(offset, 'settled');
    this.due.delete(offset);
    this.raise(offset);
  }

  /** Acks a pending delivery; false (and no change) for any other state. */
  ack(offset: number): boolean {
    if (this.states.get(offset) !== 'pending') return false;
    this.states.set(offset, 'settled');
    this.pending -= 1;
    return true;
  }

  /** Nacks a pending delivery, so the offset is delivered again; false for any other state. */
  nack(offset: number): boolean {
    if (this.states.get(offset) !== 'pending') return false;
    this.states.set(offset, 'nacked');
    this.pending -= 1;
    return true;
  }

  /**
   * The nacked `offset`'s delay has passed. Returns where the consumer should seek: the lowest
   * due offset, so one seek never jumps over another due redelivery. Undefined if `offset` is no
   * longer nacked (it was delivered again meanwhile).
   */
  redeliveryDue(offset: number): number | undefined {
    if (this.states.get(offset) !== 'nacked') return undefined;
    this.due.add(offset);
    return Math.min(...this.due);
  }

  /**
   * The offset to commit: the lowest offset handed out and not settled (pending or nacked), or
   * one past the highest handed out when all are settled. Offsets the log never had (gaps) are
   * never waited for. Undefined before anything was fetched. Prunes what it passed.
   */
  commitPoint(): number | undefined {
    if (this.floor === undefined) return undefined;
    let point = this.highest === undefined ? this.floor : Math.max(this.floor, this.highest + 1);
    for (const [offset, state] of this.states) {
      if (state !== 'settled' && offset < point) point = offset;
    }
    for (const [offset, state] of this.states) {
      if (state === 'settled' && offset < point) this.states.delete(offset);
    }
    this.floor = point;
    return point;
  }

  private raise(offset: number): void {
    if (this.highest === undefined || offset > this.highest) this.highest = offset;
  }
}
