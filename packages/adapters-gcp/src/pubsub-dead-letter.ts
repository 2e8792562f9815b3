import type { Message, PubSub, Topic } from '@google-cloud/pubsub';
import { GrpcStatus, tolerating } from './pubsub-errors';
import { PUBLISH_BATCHING } from './pubsub-options';

export const DEAD_LETTER_TOPIC = 'governor.deadletter';

/** Why a message could not be handed to a consumer. */
export type DeadLetterReason = 'not_json' | 'invalid_message' | 'wrong_account';

/** Pub/Sub caps an attribute value at 1,024 bytes; 256 characters fit even at 4 bytes each. */
const MAX_DETAIL_CHARS = 256;

/**
 * The topic `governor.deadletter`, where messages that cannot be decoded go, with where they came
 * from and why, so they are kept for a human instead of dropped or redelivered forever.
 * Created on first use: most deployments never need it.
 */
export class DeadLetterTopic {
  private topic: Promise<Topic> | undefined;

  constructor(private readonly pubsub: PubSub) {}

  /** Republishes `message`'s bytes unchanged; resolves once Pub/Sub has stored the copy. */
  async publish(
    message: Message,
    sourceSubscription: string,
    reason: DeadLetterReason,
    detail: string,
  ): Promise<string> {
    const topic = await this.ensureTopic();
    return topic.publishMessage({
      data: message.data,
      attributes: {
        source_subscription: sourceSubscription,
        reason,
        detail: detail.slice(0, MAX_DETAIL_CHARS),
        message_id: message.id,
      },
    });
  }

  private ensureTopic(): Promise<Topic> {
    this.topic ??= tolerating(this.pubsub.createTopic(DEAD_LETTER_TOPIC), GrpcStatus.ALREADY_EXISTS).then(
      () => this.pubsub.topic(DEAD_LETTER_TOPIC, { batching: PUBLISH_BATCHING }),
      (error: unknown) => {
        // Not cached, so the next undecodable message tries to create it again.
        this.topic = undefined;
        throw error;
      },
    );
    return this.topic;
  }
}
