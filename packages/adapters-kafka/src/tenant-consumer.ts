import type { Consumer, EachMessagePayload, Kafka } from 'kafkajs';
import type { Delivery } from '@governor/governor';
import { CommitLoop } from './commit-loop';
import { decodeSignal } from './decode';
import { topicNotFound, unavailable, isUnknownTopic } from './errors';
import { OffsetTracker } from './offset-tracker';
import type { ResolvedOptions } from './options';
import { Redelivery } from './redelivery';
import { RejoinSchedule } from './rejoin-backoff';

export interface TenantConsumerOptions {
  readonly kafka: Kafka;
  readonly accountId: string;
  readonly topic: string;
  readonly groupId: string;
  readonly maxOutstanding: number;
  readonly onDelivery: (delivery: Delivery) => void;
  readonly options: ResolvedOptions;
  /** Called once the consumer is gone for good (stopped, or crashed beyond kafkajs's restarts). */
  readonly onClosed: () => void;
}

/**
 * One tenant's subscription: a kafkajs consumer in the tenant's group, reading the tenant's
 * topic from the group's committed offset (from the beginning for a new group, so what was
 * published before anyone subscribed is delivered).
 *
 * - Order: the topic has one partition and every record is keyed by account_id, and the
 *   partition is read by one member at a time, so the tenant's signals arrive in publish order
 *   (a nacked one comes back after the delay, ahead of nothing it was behind).
 * - Ack: auto-commit is off. An ack settles the offset in the tracker and commits the group's
 *   offset up to the lowest unsettled delivery, so an ack means "the receipt is durable" and a
 *   crash before it brings the signal back. Commits run one at a time, coalesced (`CommitLoop`).
 * - Nack: after `redeliveryDelayMs` the consumer seeks back to the nacked offset (`Redelivery`).
 *   Records after it are fetched again; the tracker skips the ones this consumer holds or settled.
 * - Flow control: once `maxOutstanding` deliveries are unsettled the topic is paused; a settle
 *   below the limit resumes it.
 * - stop(): no more deliveries, late settles are ignored, acked offsets are committed, the
 *   consumer leaves the group. Unsettled deliveries are not committed: the next subscriber gets them.
 * - Crashes: kafkajs restarts its consumer after a retriable failure. After one it gives up on
 *   (e.g. "Failed to find group coordinator" while a restarted broker loads its groups) this
 *   consumer connects and joins again itself, with backoff (`RejoinSchedule`), until it is
 *   stopped: a subscription outlives a broker outage of any length. Only a tenant topic that no
 *   longer exists ends it.
 *
 * Every wait runs on `options.clock`.
 */
export class TenantConsumer {
  private readonly consumer: Consumer;
  private readonly trackers = new Map<number, OffsetTracker>();
  private readonly commits: CommitLoop;
  private readonly redelivery: Redelivery;
  private readonly rejoins: RejoinSchedule;
  private paused = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  /** Set once the first start succeeded: later crashes are recovered from, not reported to subscribe. */
  private started = false;
  private rejoining: Promise<void> | undefined;
  private readonly fields: Readonly<Record<string, string>>;

  private constructor(private readonly o: TenantConsumerOptions) {
    const timing = o.options.consumer;
    this.consumer = o.kafka.consumer({
      groupId: o.groupId,
      sessionTimeout: timing.sessionTimeoutMs,
      rebalanceTimeout: timing.rebalanceTimeoutMs,
      heartbeatInterval: timing.heartbeatIntervalMs,
      maxWaitTimeInMs: timing.maxWaitTimeMs,
      // The broker may auto-create topics; a consumer must never create a tenant's topic.
      allowAutoTopicCreation: false,
    });
    this.fields = { account_id: o.accountId, topic: o.topic, group_id: o.groupId };
    const { clock, log, redeliveryDelayMs } = o.options;
    this.commits = new CommitLoop({
      topic: o.topic,
      trackers: this.trackers,
      commit: (offsets) => this.consumer.commitOffsets(offsets),
      stopped: () => this.stopped,
      clock,
      log,
      fields: this.fields,
    });
    this.redelivery = new Redelivery(clock, redeliveryDelayMs, (partition, offset) =>
      this.redeliveryDue(partition, offset),
    );
    this.rejoins = new RejoinSchedule(clock);
  }

  /** Joins the tenant's group and starts delivering; resolves once the group is joined. */
  static async start(o: TenantConsumerOptions): Promise<TenantConsumer> {
    const tc = new TenantConsumer(o);
    await tc.run();
    return tc;
  }

  private async run(): Promise<void> {
    const { consumer } = this;
    const { GROUP_JOIN, CRASH, COMMIT_OFFSETS } = consumer.events;
    let fatal: Error | undefined;
    consumer.on(COMMIT_OFFSETS, (event) => {
      for (const { topic, partitions } of event.payload.topics) {
        if (topic !== this.o.topic) continue;
        for (const { partition, offset } of partitions) this.commits.confirmed(partition, Number(offset));
      }
    });
    consumer.on(GROUP_JOIN, (event) => {
      this.rejoins.reset();
      const assigned = event.payload.memberAssignment[this.o.topic] ?? [];
      this.forgetRevoked(new Set(assigned));
      if (assigned.length === 0) {
        // One partition per tenant: another member of the group (another worker) owns the tenant.
        this.o.options.log({
          level: 'warn',
          msg: 'joined the tenant group without a partition: another member holds the tenant; standing by',
          ...this.fields,
        });
      }
      // A crash restart builds a new kafkajs consumer group, which forgets pauses and seeks:
      // pause again if still full. Forgotten seeks are harmless: it reads from the committed
      // offset, at or below every nacked one.
      if (this.paused) this.consumer.pause([{ topic: this.o.topic }]);
      this.commits.soon();
    });
    consumer.on(CRASH, (event) => {
      const { error, restart } = event.payload;
      if (restart) {
        this.o.options.log({
          level: 'warn',
          msg: 'kafka consumer crashed; kafkajs restarts it from the committed offset (what this consumer holds or settled is skipped)',
          ...this.fields,
          err: error.message,
        });
        return;
      }
      // The first start failed: subscribe reports it.
      if (!this.started) {
        fatal = error;
        return;
      }
      if (this.stopped) return;
      if (isUnknownTopic(error)) {
        this.giveUp(error);
        return;
      }
      // kafkajs has disconnected the consumer and will not restart it: join again ourselves.
      this.o.options.log({
        level: 'warn',
        msg: 'kafka consumer crashed and kafkajs will not restart it; joining the group again (from the committed offset; what this consumer holds or settled is skipped)',
        ...this.fields,
        err: error.message,
        retry_in_ms: this.rejoins.nextDelayMs,
      });
      this.rejoinLater();
    });
    try {
      await this.start();
    } catch (error) {
      await consumer.disconnect().catch(() => undefined);
      if (isUnknownTopic(error)) throw topicNotFound(this.o.topic, this.o.accountId, error);
      throw unavailable(`subscribing to ${this.o.topic} in group ${this.o.groupId}`, error);
    }
    // run() resolves after a failed start too (kafkajs reports it as a crash).
    if (fatal) {
      this.stopped = true;
      this.clearTimers();
      await consumer.disconnect().catch(() => undefined);
      if (isUnknownTopic(fatal)) throw topicNotFound(this.o.topic, this.o.accountId, fatal);
      throw unavailable(`subscribing to ${this.o.topic} in group ${this.o.groupId}`, fatal);
    }
    this.started = true;
  }

  /** Connects, subscribes and runs the consumer: the first time, and again after a crash. */
  private async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [this.o.topic], fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      partitionsConsumedConcurrently: 1,
      eachMessage: (payload) => {
        this.onMessage(payload);
        return Promise.resolve();
      },
    });
  }

  private rejoinLater(): void {
    if (this.stopped) return;
    this.rejoins.schedule(() => {
      this.rejoining = this.rejoin().finally(() => {
        this.rejoining = undefined;
      });
    });
  }

  /** Joins again after a crash kafkajs gave up on. A failed start crashes again, and comes back here. */
  private async rejoin(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.start();
    } catch (error) {
      await this.consumer.disconnect().catch(() => undefined);
      if (this.stopped) return;
      if (isUnknownTopic(error)) {
        this.giveUp(error);
        return;
      }
      this.o.options.log({
        level: 'warn',
        msg: 'joining the tenant group again failed; trying again',
        ...this.fields,
        err: String(error),
        retry_in_ms: this.rejoins.nextDelayMs,
      });
      this.rejoinLater();
    }
  }

  /** The tenant's topic is gone: the subscription ends (the tenant must be subscribed again). */
  private giveUp(error: unknown): void {
    this.o.options.log({
      level: 'error',
      msg: "kafka consumer stopped: the tenant's topic no longer exists; the tenant must be subscribed again",
      ...this.fields,
      err: String(error),
    });
    this.stopped = true;
    this.clearTimers();
    this.o.onClosed();
  }

  /**
   * After a rebalance, drops the state of partitions now owned by another member: its acks of
   * deliveries still held here must not commit over the new owner's progress, and its flow
   * control must not count them. The new owner reads from the committed offset, so it gets
   * those deliveries again (the governor's action log runs each signal once).
   */
  private forgetRevoked(assigned: ReadonlySet<number>): void {
    for (const [partition, tracker] of this.trackers) {
      if (assigned.has(partition)) continue;
      this.trackers.delete(partition);
      this.commits.forget(partition);
      this.redelivery.forgetPartition(partition);
      this.o.options.log({
        level: tracker.outstanding > 0 ? 'warn' : 'info',
        msg: 'partition revoked by a rebalance; its unsettled deliveries go to the new owner',
        ...this.fields,
        partition,
        unsettled: tracker.outstanding,
      });
    }
    this.resumeIfRoom();
  }

  private trackerFor(partition: number): OffsetTracker {
    let tracker = this.trackers.get(partition);
    if (!tracker) {
      tracker = new OffsetTracker();
      this.trackers.set(partition, tracker);
    }
    return tracker;
  }

  private outstanding(): number {
    let n = 0;
    for (const tracker of this.trackers.values()) n += tracker.outstanding;
    return n;
  }

  private onMessage({ topic, partition, message }: EachMessagePayload): void {
    // kafkajs finishes the batch in hand while it stops; nothing more is handed out.
    if (this.stopped) return;
    const tracker = this.trackerFor(partition);
    const offset = Number(message.offset);
    if (tracker.onFetched(offset) === 'skip') return;
    if (this.outstanding() >= this.o.maxOutstanding) {
      // Not reached in practice (the topic is paused when full), but never over-deliver: come
      // back to this record once resumed.
      this.consumer.seek({ topic, partition, offset: message.offset });
      this.pause();
      return;
    }
    const decoded = decodeSignal(message.value, this.o.accountId);
    if (!decoded.ok) {
      // Skipped and committed like an ack: a record that cannot decode never will, and must not
      // hold back the tenant's later signals.
      this.o.options.log({
        level: 'warn',
        msg: 'undecodable record skipped and committed',
        ...this.fields,
        partition,
        offset: message.offset,
        reason: decoded.reason,
        detail: decoded.detail,
      });
      tracker.skipped(offset);
      this.commits.soon();
      return;
    }
    this.redelivery.cancel(partition, offset);
    tracker.delivered(offset);
    let settled = false;
    // After stop a settle does nothing: the offset stays uncommitted and comes back to the next subscriber.
    const first = (): boolean => {
      if (settled || this.stopped) return false;
      settled = true;
      return true;
    };
    const delivery: Delivery = {
      signal: decoded.value,
      ack: () => {
        if (!first()) return;
        tracker.ack(offset);
        this.commits.soon();
        this.resumeIfRoom();
      },
      nack: () => {
        if (!first()) return;
        tracker.nack(offset);
        this.redelivery.later(partition, offset);
        this.resumeIfRoom();
      },
    };
    try {
      this.o.onDelivery(delivery);
    } catch (error) {
      this.o.options.log({
        level: 'error',
        msg: 'signal handler threw; the signal will be redelivered',
        ...this.fields,
        partition,
        offset: message.offset,
        signal_id: decoded.value.signal_id,
        err: String(error),
      });
      delivery.nack();
    }
    if (this.outstanding() >= this.o.maxOutstanding) this.pause();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    // Pausing inside eachMessage also ends kafkajs's loop over the batch in hand; the rest of it
    // is fetched again after resume.
    this.consumer.pause([{ topic: this.o.topic }]);
  }

  private resumeIfRoom(): void {
    if (!this.paused || this.stopped || this.outstanding() >= this.o.maxOutstanding) return;
    this.paused = false;
    this.consumer.resume([{ topic: this.o.topic }]);
  }

  /** A nacked offset's delay has passed: read again from the lowest nacked offset now due. */
  private redeliveryDue(partition: number, offset: number): void {
    if (this.stopped) return;
    const target = this.trackerFor(partition).redeliveryDue(offset);
    if (target === undefined) return;
    try {
      this.consumer.seek({ topic: this.o.topic, partition, offset: String(target) });
    } catch (error) {
      // Only while kafkajs restarts a crashed consumer; the restart reads from the committed
      // offset, which is at or below the nacked one, so the signal still comes back.
      this.o.options.log({
        level: 'warn',
        msg: 'could not seek back to a nacked signal; it comes back from the committed offset',
        ...this.fields,
        partition,
        offset: String(offset),
        err: String(error),
      });
    }
  }

  private clearTimers(): void {
    this.redelivery.clear();
    this.commits.cancelRetry();
    this.rejoins.cancel();
  }

  /** Stops delivering, commits what was acked, and leaves the group. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.close();
    return this.stopping;
  }

  private async close(): Promise<void> {
    const alreadyDead = this.stopped;
    this.stopped = true;
    this.clearTimers();
    // A rejoin under way finishes first (it sees `stopped`), so the disconnect below is the last word.
    await this.rejoining;
    if (!alreadyDead) {
      // Acks given before stop are committed before the consumer leaves, so the next
      // subscriber does not get them again.
      await this.commits.flush();
    }
    try {
      await this.consumer.disconnect();
    } catch (error) {
      this.o.options.log({
        level: 'warn',
        msg: 'kafka consumer did not disconnect cleanly',
        ...this.fields,
        err: String(error),
      });
    }
    if (!alreadyDead) this.o.onClosed();
  }
}
