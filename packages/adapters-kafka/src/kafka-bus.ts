import { Kafka, Partitioners, type Admin } from 'kafkajs';
import { Signal } from '@governor/contracts';
import type { Delivery, SignalBus, SubscribeOptions } from '@governor/governor';
import { KafkaAdapterError, invalidArgument, isUnknownTopic, topicNotFound, unavailable } from './errors';
import { deleteGroup } from './delete-group';
import { checkAccountId, signalGroupId, signalTopicName } from './names';
import { kafkaLogCreator, resolveOptions, type KafkaBusOptions, type ResolvedOptions } from './options';
import { ProducerSlot } from './producer-slot';
import { TenantConsumer } from './tenant-consumer';

/** The default flow-control limit when the caller sets none (the Pub/Sub adapter's too). */
const DEFAULT_MAX_OUTSTANDING = 1_000;
/** How long deleteTopic waits for the broker's metadata to stop showing a deleted topic. */
const DELETE_VISIBLE_MS = 5_000;
/** A send still pending after this long makes publish check that the topic still exists. */
const SLOW_SEND_MS = 1_000;

/**
 * Per-tenant signal topics on Kafka: topic `tenants.{account_id}.signals` (one partition, key =
 * account_id), read by the tenant's consumer group `tenants.{account_id}.signals.governor`.
 *
 * One producer and one admin client per bus; one consumer per subscribed tenant (see the
 * package index for why, and what it costs).
 */
export class KafkaBus implements SignalBus {
  private readonly options: ResolvedOptions;
  private readonly kafka: Kafka;
  private admin: Promise<Admin> | undefined;
  private readonly producer: ProducerSlot;
  /** Topics this bus has seen exist, so a publish does not ask the broker each time. */
  private readonly knownTopics = new Set<string>();
  private readonly subscriptions = new Map<string, TenantConsumer>();
  /** Tenants whose subscription is joining its group. */
  private readonly joining = new Set<string>();
  private closed = false;

  constructor(options: KafkaBusOptions) {
    this.options = resolveOptions(options);
    this.kafka = new Kafka({
      clientId: this.options.clientId,
      brokers: this.options.brokers,
      connectionTimeout: this.options.connectionTimeoutMs,
      logLevel: this.options.kafkaLogLevel,
      logCreator: kafkaLogCreator(this.options.log),
    });
    this.producer = new ProducerSlot(() =>
      this.kafka.producer({
        // Idempotent with one request in flight: a retried send neither duplicates nor reorders
        // the tenant's signals.
        idempotent: true,
        maxInFlightRequests: 1,
        allowAutoTopicCreation: false,
        createPartitioner: Partitioners.DefaultPartitioner,
        // A send gives up after ~2.5 s (kafkajs's default is ~10 s) and the caller gets a
        // retryable UNAVAILABLE: a publisher decides itself how long to keep trying.
        retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
      }),
    );
  }

  /** The topic name of a tenant on this bus (with the namespace, if any). */
  topicName(accountId: string): string {
    return signalTopicName(accountId, this.options.namespace);
  }

  /** The consumer group of a tenant on this bus: it holds the tenant's committed offset. */
  groupId(accountId: string): string {
    return signalGroupId(accountId, this.options.namespace);
  }

  async createTopic(accountId: string): Promise<void> {
    this.checkOpen();
    checkAccountId(accountId);
    const topic = this.topicName(accountId);
    try {
      const admin = await this.adminClient();
      // Resolves false when the topic exists: createTopic is idempotent. One partition per
      // tenant is what keeps the tenant's signals in order.
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: this.options.replicationFactor }],
        waitForLeaders: true,
      });
    } catch (error) {
      throw unavailable(`creating topic ${topic}`, error);
    }
    this.knownTopics.add(topic);
  }

  async deleteTopic(accountId: string): Promise<void> {
    this.checkOpen();
    checkAccountId(accountId);
    const topic = this.topicName(accountId);
    // A consumer of a deleted topic would only fail; its unsettled signals go with the topic.
    await this.subscriptions.get(accountId)?.stop();
    this.knownTopics.delete(topic);
    try {
      const admin = await this.adminClient();
      // Asked first: kafkajs retries deleting a missing topic for seconds before it gives up.
      if (await this.exists(admin, topic)) {
        try {
          await admin.deleteTopics({ topics: [topic] });
        } catch (error) {
          if (!isUnknownTopic(error)) throw error;
        }
      }
      // The group's committed offset must not outlive the topic: a topic created again under
      // the same name starts at offset 0, and an old offset would skip its first signals.
      // (Waits for a group coordinator that is still loading, as on a freshly started broker.)
      await deleteGroup(admin, this.groupId(accountId));
      await this.waitUntilGone(admin, topic);
    } catch (error) {
      throw unavailable(`deleting topic ${topic}`, error);
    }
    if (this.producer.hasSentTo(topic)) this.producer.retire();
  }

  async topicExists(accountId: string): Promise<boolean> {
    this.checkOpen();
    checkAccountId(accountId);
    const topic = this.topicName(accountId);
    try {
      return await this.exists(await this.adminClient(), topic);
    } catch (error) {
      throw unavailable(`checking topic ${topic}`, error);
    }
  }

  async publish(signal: Signal): Promise<void> {
    this.checkOpen();
    const parsed = Signal.safeParse(signal);
    if (!parsed.success) {
      throw invalidArgument(
        `signal is not valid and was not published: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        parsed.error,
      );
    }
    const accountId = parsed.data.account_id;
    const topic = this.topicName(accountId);
    // The broker may auto-create topics on a producer's metadata request, and kafkajs retries
    // an unknown topic for seconds: a missing tenant topic is rejected up front instead.
    if (!this.knownTopics.has(topic)) {
      let found: boolean;
      try {
        found = await this.exists(await this.adminClient(), topic);
      } catch (error) {
        throw unavailable(`checking topic ${topic}`, error);
      }
      if (!found) throw topicNotFound(topic, accountId);
      this.knownTopics.add(topic);
    }
    const message = {
      key: accountId,
      value: JSON.stringify(parsed.data),
      headers: { signal_id: parsed.data.signal_id },
    };
    const sending = this.producer.send(topic, message);
    let outcome: 'sent' | 'slow';
    try {
      outcome = await settledWithin(sending, SLOW_SEND_MS);
    } catch (error) {
      if (!isUnknownTopic(error))
        throw unavailable(`publishing signal ${signal.signal_id} to ${topic}`, error);
      this.forgetTopic(topic);
      throw topicNotFound(topic, accountId, error);
    }
    if (outcome === 'sent') return;
    // A send to a topic deleted behind this bus's back is retried by kafkajs until its retry
    // budget runs out; a slow send asks whether the topic is still there instead of waiting.
    // (It keeps retrying in the background and fails; the retired producer waits for it.)
    let found = true;
    try {
      found = await this.exists(await this.adminClient(), topic);
    } catch {
      // The broker is struggling: the send's own outcome decides.
    }
    if (!found) {
      void sending.catch(() => undefined);
      this.forgetTopic(topic);
      throw topicNotFound(topic, accountId);
    }
    try {
      await sending;
    } catch (error) {
      throw unavailable(`publishing signal ${signal.signal_id} to ${topic}`, error);
    }
  }

  /**
   * Forgets a topic found deleted. kafkajs keeps refreshing the metadata of every topic its
   * producer has sent to and fails every send once one of them is gone, so the producer is
   * replaced.
   */
  private forgetTopic(topic: string): void {
    this.knownTopics.delete(topic);
    this.producer.retire();
  }

  async subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options: SubscribeOptions = {},
  ): Promise<() => Promise<void>> {
    this.checkOpen();
    checkAccountId(accountId);
    const maxOutstanding = options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
    if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1) {
      throw invalidArgument(`maxOutstanding must be a positive integer, got ${maxOutstanding}`);
    }
    if (this.subscriptions.has(accountId) || this.joining.has(accountId)) {
      throw new KafkaAdapterError(
        'ALREADY_SUBSCRIBED',
        `this bus already has a subscription for ${accountId}: stop it before subscribing again`,
        false,
      );
    }
    const topic = this.topicName(accountId);
    // Reserved before the group join (hundreds of ms), so a concurrent subscribe is refused.
    this.joining.add(accountId);
    let consumer: TenantConsumer;
    try {
      let found: boolean;
      try {
        found = await this.exists(await this.adminClient(), topic);
      } catch (error) {
        throw unavailable(`checking topic ${topic}`, error);
      }
      if (!found) throw topicNotFound(topic, accountId);
      consumer = await TenantConsumer.start({
        kafka: this.kafka,
        accountId,
        topic,
        groupId: this.groupId(accountId),
        maxOutstanding,
        onDelivery,
        options: this.options,
        onClosed: () => {
          if (this.subscriptions.get(accountId) === consumer) this.subscriptions.delete(accountId);
        },
      });
    } finally {
      this.joining.delete(accountId);
    }
    if (this.closed) {
      // close() ran during the join and could not see this consumer.
      await consumer.stop();
      throw new KafkaAdapterError('CLOSED', 'the Kafka bus was closed while subscribing', false);
    }
    this.subscriptions.set(accountId, consumer);
    return () => consumer.stop();
  }

  /** Stops every subscription and disconnects the producer and admin clients. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.subscriptions.values()].map((s) => s.stop()));
    this.subscriptions.clear();
    const admin = this.admin;
    this.admin = undefined;
    await Promise.all([admin?.then((a) => a.disconnect()).catch(() => undefined), this.producer.close()]);
  }

  private checkOpen(): void {
    if (this.closed) throw new KafkaAdapterError('CLOSED', 'the Kafka bus is closed', false);
  }

  private adminClient(): Promise<Admin> {
    this.admin ??= connect(this.kafka.admin()).catch((error: unknown) => {
      this.admin = undefined;
      throw error;
    });
    return this.admin;
  }

  private async exists(admin: Admin, topic: string): Promise<boolean> {
    try {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
      return topics.some((t) => t.name === topic);
    } catch (error) {
      if (isUnknownTopic(error)) return false;
      throw error;
    }
  }

  private async waitUntilGone(admin: Admin, topic: string): Promise<void> {
    const deadline = Date.now() + DELETE_VISIBLE_MS;
    while (await this.exists(admin, topic)) {
      if (Date.now() > deadline)
        throw new Error(`topic ${topic} still listed ${DELETE_VISIBLE_MS} ms after deletion`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** Resolves 'sent' if `promise` resolves within `ms`, 'slow' if not; rejects if it rejects first. */
async function settledWithin(promise: Promise<void>, ms: number): Promise<'sent' | 'slow'> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<'slow'>((resolve) => {
    timer = setTimeout(() => resolve('slow'), ms);
  });
  const sent = promise.then(() => 'sent' as const);
  // A rejection after the timer won is the caller's to handle, through `promise`.
  sent.catch(() => undefined);
  try {
    return await Promise.race([sent, slow]);
  } finally {
    clearTimeout(timer);
  }
}

async function connect<T extends { connect(): Promise<void> }>(client: T): Promise<T> {
  await client.connect();
  return client;
}
