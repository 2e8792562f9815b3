import { TOLERANCE_S } from './webhook-signature';

export interface Answer {
  readonly status: number;
  readonly body: unknown;
  /** The correlation id of the request that made the answer. */
  readonly correlationId?: string;
}

/**
 * Remembers the first answer to each `webhook-id`, with a digest of the body it answered, so a
 * redelivery (same id, same body) gets that answer and triggers nothing, and the same id with
 * another body is told apart (`reused`), never answered with another request's answer. A
 * redelivery that arrives while the first is still being answered waits for it. Entries live
 * twice the signature tolerance: past that a replayed request's timestamp is refused anyway.
 * Bounded, oldest evicted first.
 */
export class ReplayCache {
  private readonly entries = new Map<string, { answer: Promise<Answer>; digest: string; at: number }>();

  constructor(
    private readonly now: () => number,
    private readonly capacity = 100_000,
    // Past twice the tolerance (plus a minute for rounding and clock steps) a replay's timestamp is refused anyway.
    private readonly ttlMs = (2 * TOLERANCE_S + 60) * 1000,
  ) {}

  /**
   * The first answer for `key`, computing it with `answer` if this is the first delivery;
   * `reused` (and no answer) when `key` was first answered for a body of another `digest`.
   */
  once(
    key: string,
    digest: string,
    answer: () => Promise<Answer>,
  ): { replay: boolean; answer: Promise<Answer> } | { reused: true } {
    this.expire();
    const known = this.entries.get(key);
    if (known) return known.digest === digest ? { replay: true, answer: known.answer } : { reused: true };
    const pending = answer();
    this.entries.set(key, { answer: pending, digest, at: this.now() });
    // A failure that is ours (not an answer) must not be cached: the sender retries it.
    pending.catch(() => this.entries.delete(key));
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return { replay: false, answer: pending };
  }

  private expire(): void {
    const cutoff = this.now() - this.ttlMs;
    for (const [key, entry] of this.entries) {
      if (entry.at >= cutoff) break;
      this.entries.delete(key);
    }
  }
}
