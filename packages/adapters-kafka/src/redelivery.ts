import type { Clock } from '@governor/governor';

/**
 * The redelivery timers of nacked offsets: each one, after the delay, calls `due` so the
 * consumer seeks back to it. A timer is dropped when its offset is fetched again first, when
 * its partition is revoked, or when the consumer stops.
 */
export class Redelivery {
  /** By `partition:offset`. */
  private readonly timers = new Map<string, unknown>();

  constructor(
    private readonly clock: Clock,
    private readonly delayMs: number,
    private readonly due: (partition: number, offset: number) => void,
  ) {}

  /** Calls `due` after the delay. A second nack of the same offset replaces the first timer. */
  later(partition: number, offset: number): void {
    this.cancel(partition, offset);
    const key = keyOf(partition, offset);
    const timer = this.clock.setTimeout(() => {
      this.timers.delete(key);
      this.due(partition, offset);
    }, this.delayMs);
    this.timers.set(key, timer);
  }

  cancel(partition: number, offset: number): void {
    const key = keyOf(partition, offset);
    if (!this.timers.has(key)) return;
    this.clock.clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** Drops the timers of a partition this consumer no longer owns. */
  forgetPartition(partition: number): void {
    for (const [key, timer] of this.timers) {
      if (key.startsWith(`${partition}:`)) {
        this.clock.clearTimeout(timer);
        this.timers.delete(key);
      }
    }
  }

  clear(): void {
    for (const timer of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
  }

  get size(): number {
    return this.timers.size;
  }
}

function keyOf(partition: number, offset: number): string {
  return `${partition}:${offset}`;
}
