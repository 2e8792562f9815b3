import type { PubSub, Topic } from '@google-cloud/pubsub';
import { AccountId, Signal } from '@governor/contracts';
import type { Delivery, SignalBus, SubscribeOptions } from '@governor/governor';
import { consume, decodeJson, type Decoded } from './pubsub-consumer';
import { DeadLetterTopic } from './pubsub-dead-letter';
import {
  GrpcStatus,
  PubSubAdapterError,
  grpcCode,
  invalidArgument,
  tolerating,
  unavailable,
} from './pubsub-errors';
import {
  PUBLISH_BATCHING,
  resolveOptions,
  type PubSubAdapterOptions,
  type ResolvedOptions,
} from './pubsub-options';

export function signalTopicName(accountId: string): string {
  return `tenants.${accountId}.signals`;
}

export function signalSubscriptionName(accountId: string): string {
  return `${signalTopicName(accountId)}.governor`;
}

/** The client's default, kept when the caller sets no limit: flow control is always on. */
const DEFAULT_MAX_OUTSTANDING = 1_000;

/**
 * Per-tenant signal topics on Cloud Pub/Sub: topic `tenants.{account_id}.signals`, read by the
 * governor through the ordered subscription `tenants.{account_id}.signals.governor`. Every
 * signal of a tenant carries the ordering key `account_id`, so the tenant's signals arrive in
 * publish order.
 */
export class PubSubBus implements SignalBus {
  private readonly options: ResolvedOptions;
  private readonly pubsub: PubSub;
  /** Topic objects hold the publisher's batches and ordered queues, so one per tenant is reused. */
  private readonly topics = new Map<string, Topic>();
  private readonly deadLetter: DeadLetterTopic;

  constructor(options: PubSubAdapterOptions) {
    this.options = resolveOptions(options);
    this.pubsub = options.pubsub;
    this.deadLetter = new DeadLetterTopic(this.pubsub);
  }

  async createTopic(accountId: string): Promise<void> {
    checkAccountId(accountId);
    const name = signalTopicName(accountId);
    try {
      await tolerating(this.pubsub.createTopic(name), GrpcStatus.ALREADY_EXISTS);
      await tolerating(
        this.pubsub.topic(name).createSubscription(signalSubscriptionName(accountId), {
          enableMessageOrdering: true,
          ackDeadlineSeconds: this.options.ackDeadlineSeconds,
        }),
        GrpcStatus.ALREADY_EXISTS,
      );
    } catch (error) {
      throw unavailable(`creating ${name} and its subscription`, error);
    }
  }

  async deleteTopic(accountId: string): Promise<void> {
    checkAccountId(accountId);
    const name = signalTopicName(accountId);
    this.topics.delete(accountId);
    try {
      // The subscription first: deleting only the topic would leave it detached, holding messages.
      await tolerating(
        this.pubsub.subscription(signalSubscriptionName(accountId)).delete(),
        GrpcStatus.NOT_FOUND,
      );
      await tolerating(this.pubsub.topic(name).delete(), GrpcStatus.NOT_FOUND);
    } catch (error) {
      throw unavailable(`deleting ${name} and its subscription`, error);
    }
  }

  async topicExists(accountId: string): Promise<boolean> {
    checkAccountId(accountId);
    try {
      const [exists] = await this.pubsub.topic(signalTopicName(accountId)).exists();
      return exists;
    } catch (error) {
      throw unavailable(`checking ${signalTopicName(accountId)}`, error);
    }
  }

  async publish(signal: Signal): Promise<void> {
    const parsed = Signal.safeParse(signal);
    if (!parsed.success) {
      throw invalidArgument(
        `signal is not valid and was not published: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
        parsed.error,
      );
    }
    const accountId = signal.account_id;
    const topic = this.topicFor(accountId);
    try {
      await topic.publishMessage({
        data: Buffer.from(JSON.stringify(parsed.data)),
        orderingKey: accountId,
        attributes: { signal_id: signal.signal_id },
      });
    } catch (error) {
      // A failed ordered publish pauses its key in the client; without this every later publish
      // of the tenant would fail too (the 5.x client happens to drop a drained key's queue, but
      // resuming is the documented contract).
      topic.resumePublishing(accountId);
      if (grpcCode(error) === GrpcStatus.NOT_FOUND) {
        this.topics.delete(accountId);
        throw new PubSubAdapterError(
          'TOPIC_NOT_FOUND',
          `topic ${signalTopicName(accountId)} does not exist: create it with createTopic('${accountId}') before publishing`,
          false,
          { cause: error },
        );
      }
      throw unavailable(`publishing signal ${signal.signal_id} to ${signalTopicName(accountId)}`, error);
    }
  }

  async subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options: SubscribeOptions = {},
  ): Promise<() => Promise<void>> {
    checkAccountId(accountId);
    const maxOutstanding = options.maxOutstanding ?? DEFAULT_MAX_OUTSTANDING;
    if (!Number.isInteger(maxOutstanding) || maxOutstanding < 1) {
      throw invalidArgument(`maxOutstanding must be a positive integer, got ${maxOutstanding}`);
    }
    const name = signalSubscriptionName(accountId);
    let exists: boolean;
    try {
      [exists] = await this.pubsub.subscription(name).exists();
    } catch (error) {
      throw unavailable(`checking subscription ${name}`, error);
    }
    if (!exists) {
      throw new PubSubAdapterError(
        'SUBSCRIPTION_NOT_FOUND',
        `subscription ${name} does not exist: create the tenant's topic with createTopic('${accountId}') before subscribing`,
        false,
      );
    }
    return consume({
      pubsub: this.pubsub,
      name,
      maxOutstanding,
      decode: (data) => decodeSignal(data, accountId),
      deliver: (signal, settle) => onDelivery({ signal, ack: settle.ack, nack: settle.nack }),
      deadLetter: this.deadLetter,
      redeliveryDelayMs: this.options.redeliveryDelayMs,
      log: this.options.log,
      fields: { account_id: accountId },
    });
  }

  private topicFor(accountId: string): Topic {
    let topic = this.topics.get(accountId);
    if (!topic) {
      topic = this.pubsub.topic(signalTopicName(accountId), {
        messageOrdering: true,
        batching: PUBLISH_BATCHING,
      });
      this.topics.set(accountId, topic);
    }
    return topic;
  }
}

function checkAccountId(accountId: string): void {
  const parsed = AccountId.safeParse(accountId);
  if (!parsed.success)
    throw invalidArgument(parsed.error.issues[0]?.message ?? 'invalid account_id', parsed.error);
}

function decodeSignal(data: Buffer, accountId: string): Decoded<Signal> {
  const decoded = decodeJson(data, Signal);
  if (decoded.ok && decoded.value.account_id !== accountId) {
    return {
      ok: false,
      reason: 'wrong_account',
      detail: `signal for account ${decoded.value.account_id} on the topic of ${accountId}`,
    };
  }
  return decoded;
}
