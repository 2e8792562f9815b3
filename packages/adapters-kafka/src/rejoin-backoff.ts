import type { Clock } from '@governor/governor';

/** How long to wait before joining the group again after a crash kafkajs does not restart from. */
export interface RejoinBackoffOptions {
  /** The wait before the first attempt; each further attempt waits twice the one before. */
  readonly firstMs: number;
  /** The longest wait: a broker outage of any length is retried at least this often. */
  readonly maxMs: number;
}

export const DEFAULT_REJOIN_BACKOFF: RejoinBackoffOptions = { firstMs: 1_000, maxMs: 10_000 };

/** The wait before rejoin attempt `attempt` (1 for the first since the group was last joined). */
export function rejoinDelayMs(
  attempt: number,
  options: RejoinBackoffOptions = DEFAULT_REJOIN_BACKOFF,
): number {
  const doublings = Math.max(0, Math.floor(attempt) - 1);
  // 2 ** doublings is Infinity long before it matters; the cap still holds.
  return Math.min(options.firstMs * 2 ** doublings, options.maxMs);
}

/**
 * At most one pending rejoin, scheduled on the clock with the backoff. The count of attempts
 * starts over once the group is joined again.
 */
export class RejoinSchedule {
  /** Rejoins scheduled since the group was last joined. */
  private attempts = 0;
  private pending = false;
  private timer: unknown;

  constructor(
    private readonly clock: Clock,
    private readonly backoff: RejoinBackoffOptions = DEFAULT_REJOIN_BACKOFF,
  ) {}

  /** The wait the next scheduled rejoin would get. */
  get nextDelayMs(): number {
    return rejoinDelayMs(this.attempts + 1, this.backoff);
  }

  /** The group is joined: the next crash waits the first delay again. */
  reset(): void {
    this.attempts = 0;
  }

  /** Runs `rejoin` after the next delay, unless a rejoin is already pending. */
  schedule(rejoin: () => void): void {
    if (this.pending) return;
    const delay = this.nextDelayMs;
    this.attempts += 1;
    this.pending = true;
    this.timer = this.clock.setTimeout(() => {
      this.pending = false;
      this.timer = undefined;
      rejoin();
    }, delay);
  }

  cancel(): void {
    if (!this.pending) return;
    this.clock.clearTimeout(this.timer);
    this.pending = false;
    this.timer = undefined;
  }
}
