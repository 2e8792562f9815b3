import type { Clock } from '@governor/governor';
import type { KafkaLog } from './options';
import type { OffsetTracker } from './offset-tracker';

/** How long a failed commit waits before it is tried again (the next ack tries sooner). */
export const COMMIT_RETRY_MS = 1_000;

export interface TopicOffset {
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
}

export interface CommitLoopOptions {
  readonly topic: string;
  /** The settlement state of each partition this consumer owns. */
  readonly trackers: ReadonlyMap<number, OffsetTracker>;
  /** kafkajs's `commitOffsets`. */
  readonly commit: (offsets: TopicOffset[]) => Promise<void>;
  /** A stopped consumer does not retry a failed commit. */
  readonly stopped: () => boolean;
  readonly clock: Clock;
  readonly log: KafkaLog;
  readonly fields: Readonly<Record<string, string>>;
}

/**
 * Commits each partition's settled prefix (up to its tracker's commit point). Commits run one at
 * a time, coalesced: a request while one runs makes it go round again. A failed commit is tried
 * again after `COMMIT_RETRY_MS`, or sooner by the next request.
 */
export class CommitLoop {
  /** Offsets the group has committed, per partition, as the broker confirmed them. */
  private readonly committed = new Map<number, number>();
  private running: Promise<void> | undefined;
  private again = false;
  private retry: unknown;
  private retryPending = false;

  constructor(private readonly o: CommitLoopOptions) {}

  /** The broker confirmed a commit (kafkajs's COMMIT_OFFSETS event). */
  confirmed(partition: number, offset: number): void {
    this.committed.set(partition, offset);
  }

  /** The partition went to another member: its commits are that member's now. */
  forget(partition: number): void {
    this.committed.delete(partition);
  }

  /** Starts a commit of the settled prefix, or asks the running one to go round again. */
  soon(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.commitSettled().finally(() => {
      this.running = undefined;
    });
  }

  /** Waits for the running commit, then commits once more what is settled by now. */
  async flush(): Promise<void> {
    await this.running;
    await this.commitSettled();
  }

  cancelRetry(): void {
    if (!this.retryPending) return;
    this.o.clock.clearTimeout(this.retry);
    this.retryPending = false;
    this.retry = undefined;
  }

  private async commitSettled(): Promise<void> {
    do {
      this.again = false;
      const offsets: TopicOffset[] = [];
      for (const [partition, tracker] of this.o.trackers) {
        const point = tracker.commitPoint();
        if (point !== undefined && point > (this.committed.get(partition) ?? -1)) {
          offsets.push({ topic: this.o.topic, partition, offset: String(point) });
        }
      }
      if (offsets.length === 0) return;
      try {
        // Resolves without committing while kafkajs restarts a crashed consumer; `committed`
        // only moves on the broker's confirmation, so the next ack or join commits again.
        await this.o.commit(offsets);
      } catch (error) {
        this.o.log({
          level: 'warn',
          msg: 'committing settled offsets failed; retrying (until then they would be redelivered)',
          ...this.o.fields,
          offsets,
          err: String(error),
        });
        if (!this.o.stopped() && !this.retryPending) {
          this.retryPending = true;
          this.retry = this.o.clock.setTimeout(() => {
            this.retryPending = false;
            this.retry = undefined;
            this.soon();
          }, COMMIT_RETRY_MS);
        }
        return;
      }
    } while (this.again);
  }
}
