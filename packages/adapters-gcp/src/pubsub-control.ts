import type { PubSub, Topic } from '@google-cloud/pubsub';
import { ControlMessage, ControlSubscriberId } from '@governor/contracts';
import type { ControlChannel } from '@governor/governor';
import { consume, decodeJson } from './pubsub-consumer';
import { DeadLetterTopic } from './pubsub-dead-letter';
import { GrpcStatus, grpcCode, invalidArgument, tolerating, unavailable } from './pubsub-errors';
import {
  PUBLISH_BATCHING,
  resolveOptions,
  type PubSubAdapterOptions,
  type ResolvedOptions,
} from './pubsub-options';

export const CONTROL_TOPIC = 'governor.control';

export function controlSubscriptionName(workerId: string): string {
  return `${CONTROL_TOPIC}.${workerId}`;
}

/**
 * One ordering key for the whole topic: a worker must apply policy broadcasts and entitlement
 * changes in the order the ingress sent them, or an older policy could overwrite a newer one.
 */
const CONTROL_ORDERING_KEY = 'control';

/** Control messages are few; this is the client's default limit, made explicit. */
const CONTROL_MAX_OUTSTANDING = 1_000;

/**
 * The control topic on Cloud Pub/Sub: the ingress publishes to `governor.control`; each worker
 * reads its own ordered subscription `governor.control.{worker_id}`, so every worker sees every
 * message published after its first subscribe, and a worker's restart resumes where it stopped.
 */
export class PubSubControl implements ControlChannel {
  private readonly options: ResolvedOptions;
  private readonly pubsub: PubSub;
  private readonly deadLetter: DeadLetterTopic;
  private topic: Promise<Topic> | undefined;

  constructor(options: PubSubAdapterOptions) {
    this.options = resolveOptions(options);
    this.pubsub = options.pubsub;
    this.deadLetter = new DeadLetterTopic(this.pubsub);
  }

  async publish(message: ControlMessage): Promise<void> {
    const parsed = ControlMessage.safeParse(message);
    if (!parsed.success) {
      throw invalidArgument(
        `control message is not valid and was not published: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`).join('; ')}`,
        parsed.error,
      );
    }
    const topic = await this.ensureTopic();
    try {
      await topic.publishMessage({
        data: Buffer.from(JSON.stringify(parsed.data)),
        orderingKey: CONTROL_ORDERING_KEY,
        attributes: { kind: parsed.data.kind },
      });
    } catch (error) {
      // As on the signal topics: a failed ordered publish must not leave the key paused.
      topic.resumePublishing(CONTROL_ORDERING_KEY);
      // Deleted behind our back: forget it so the next publish creates it again.
      if (grpcCode(error) === GrpcStatus.NOT_FOUND) this.topic = undefined;
      throw unavailable(`publishing a ${parsed.data.kind} message to ${CONTROL_TOPIC}`, error);
    }
  }

  async subscribe(
    workerId: string,
    onMessage: (message: ControlMessage, settle: { ack(): void; nack(): void }) => void,
  ): Promise<() => Promise<void>> {
    const id = ControlSubscriberId.safeParse(workerId);
    if (!id.success) throw invalidArgument(id.error.issues[0]?.message ?? 'invalid worker_id', id.error);
    const name = controlSubscriptionName(workerId);
    const topic = await this.ensureTopic();
    try {
      await tolerating(
        topic.createSubscription(name, {
          enableMessageOrdering: true,
          ackDeadlineSeconds: this.options.ackDeadlineSeconds,
        }),
        GrpcStatus.ALREADY_EXISTS,
      );
    } catch (error) {
      throw unavailable(`creating subscription ${name}`, error);
    }
    return consume({
      pubsub: this.pubsub,
      name,
      maxOutstanding: CONTROL_MAX_OUTSTANDING,
      decode: (data) => decodeJson(data, ControlMessage),
      deliver: onMessage,
      deadLetter: this.deadLetter,
      redeliveryDelayMs: this.options.redeliveryDelayMs,
      log: this.options.log,
      fields: { worker_id: workerId },
    });
  }

  private ensureTopic(): Promise<Topic> {
    this.topic ??= tolerating(this.pubsub.createTopic(CONTROL_TOPIC), GrpcStatus.ALREADY_EXISTS).then(
      () => this.pubsub.topic(CONTROL_TOPIC, { messageOrdering: true, batching: PUBLISH_BATCHING }),
      (error: unknown) => {
        this.topic = undefined;
        throw unavailable(`creating ${CONTROL_TOPIC}`, error);
      },
    );
    return this.topic;
  }
}
