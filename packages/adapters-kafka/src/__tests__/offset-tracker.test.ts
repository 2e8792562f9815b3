import fc from 'fast-check';
import { OffsetTracker } from '../offset-tracker';

/** Fetches and delivers `offsets` in order, as the consumer does for records that decode. */
function deliverAll(tracker: OffsetTracker, offsets: number[]): void {
  for (const offset of offsets) {
    expect(tracker.onFetched(offset)).toBe('deliver');
    tracker.delivered(offset);
  }
}

describe('OffsetTracker', () => {
  it('has nothing to commit before the first fetch; the first fetch is where the group was', () => {
    const tracker = new OffsetTracker();
    expect(tracker.commitPoint()).toBeUndefined();
    expect(tracker.onFetched(40)).toBe('deliver');
    expect(tracker.commitPoint()).toBe(40);
  });

  it('commits only up to the lowest unsettled delivery, then jumps the settled run after it', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [10, 11, 12, 13]);
    expect(tracker.outstanding).toBe(4);
    expect(tracker.ack(11)).toBe(true);
    expect(tracker.ack(12)).toBe(true);
    expect(tracker.commitPoint()).toBe(10);
    expect(tracker.ack(10)).toBe(true);
    expect(tracker.commitPoint()).toBe(13);
    expect(tracker.ack(13)).toBe(true);
    expect(tracker.commitPoint()).toBe(14);
    expect(tracker.outstanding).toBe(0);
  });

  it('does not wait for offsets the log never had (gaps)', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [5, 8, 9]);
    tracker.ack(5);
    tracker.ack(8);
    expect(tracker.commitPoint()).toBe(9);
    tracker.ack(9);
    expect(tracker.commitPoint()).toBe(10);
  });

  it('settles each delivery once: a second ack, or an ack after a nack, changes nothing', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [0, 1]);
    expect(tracker.ack(0)).toBe(true);
    expect(tracker.ack(0)).toBe(false);
    expect(tracker.nack(0)).toBe(false);
    expect(tracker.nack(1)).toBe(true);
    expect(tracker.ack(1)).toBe(false);
    expect(tracker.ack(7)).toBe(false);
    expect(tracker.outstanding).toBe(0);
    expect(tracker.commitPoint()).toBe(1);
  });

  it('on a refetch (seek back, rebalance) skips what it holds or settled, and delivers a nacked one again', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [0, 1, 2, 3]);
    tracker.ack(0);
    tracker.nack(1);
    tracker.ack(3);
    tracker.commitPoint();
    // The seek back to 1 fetches 1, 2, 3 again.
    expect(tracker.onFetched(0)).toBe('skip');
    expect(tracker.onFetched(1)).toBe('deliver');
    tracker.delivered(1);
    expect(tracker.onFetched(2)).toBe('skip');
    expect(tracker.onFetched(3)).toBe('skip');
    expect(tracker.onFetched(4)).toBe('deliver');
    expect(tracker.outstanding).toBe(2);
  });

  it('a nack holds the commit point at the nacked offset until the redelivery is acked', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [0, 1]);
    tracker.nack(0);
    tracker.ack(1);
    expect(tracker.commitPoint()).toBe(0);
    expect(tracker.onFetched(0)).toBe('deliver');
    tracker.delivered(0);
    expect(tracker.commitPoint()).toBe(0);
    tracker.ack(0);
    expect(tracker.commitPoint()).toBe(2);
  });

  it('seeks to the lowest due redelivery, so one seek never jumps over another', () => {
    const tracker = new OffsetTracker();
    deliverAll(tracker, [0, 1, 2, 3]);
    tracker.nack(1);
    tracker.nack(3);
    expect(tracker.redeliveryDue(3)).toBe(3);
    expect(tracker.redeliveryDue(1)).toBe(1);
    tracker.delivered(1);
    expect(tracker.redeliveryDue(1)).toBeUndefined();
    // 3 is still due; 1 is pending again, so the next seek goes to 3.
    tracker.nack(2);
    expect(tracker.redeliveryDue(2)).toBe(2);
    tracker.delivered(2);
    tracker.delivered(3);
    tracker.nack(3);
    expect(tracker.redeliveryDue(3)).toBe(3);
  });

  it('undecodable records count as settled and do not hold back the commit', () => {
    const tracker = new OffsetTracker();
    expect(tracker.onFetched(0)).toBe('deliver');
    tracker.skipped(0);
    deliverAll(tracker, [1]);
    expect(tracker.commitPoint()).toBe(1);
    tracker.ack(1);
    expect(tracker.commitPoint()).toBe(2);
    expect(tracker.onFetched(0)).toBe('skip');
  });

  it('property: the commit point never passes an unsettled delivery, never goes back, and a settled offset is never delivered again', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('fetch' as const) }),
      fc.record({ kind: fc.constantFrom('ack' as const, 'nack' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('seek' as const), pick: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.nat({ max: 1000 }), fc.array(op, { maxLength: 80 }), (start, ops) => {
        const tracker = new OffsetTracker();
        const log = Array.from({ length: 200 }, (_, i) => start + i);
        let position = 0;
        const pending = new Set<number>();
        const acked = new Set<number>();
        let lastPoint = -1;
        for (const o of ops) {
          if (o.kind === 'fetch') {
            const offset = log[position++];
            if (offset === undefined) continue;
            if (tracker.onFetched(offset) === 'deliver') {
              expect(acked.has(offset)).toBe(false);
              expect(pending.has(offset)).toBe(false);
              tracker.delivered(offset);
              pending.add(offset);
            }
          } else if (o.kind === 'seek') {
            // A seek back to any offset not below the last commit point (a nack redelivery or a rebalance).
            const low = Math.max(lastPoint - start, 0);
            if (position > low) position = low + (o.pick % (position - low + 1));
          } else {
            const all = [...pending];
            const offset = all[o.pick % Math.max(all.length, 1)];
            if (offset === undefined) continue;
            pending.delete(offset);
            if (o.kind === 'ack') {
              expect(tracker.ack(offset)).toBe(true);
              acked.add(offset);
            } else {
              expect(tracker.nack(offset)).toBe(true);
            }
          }
          const point = tracker.commitPoint();
          if (point !== undefined) {
            expect(point).toBeGreaterThanOrEqual(lastPoint);
            for (const offset of pending) expect(point).toBeLessThanOrEqual(offset);
            for (let offset = start; offset < point; offset++) expect(acked.has(offset)).toBe(true);
            lastPoint = point;
          }
          expect(tracker.outstanding).toBe(pending.size);
        }
      }),
    );
  });
});
