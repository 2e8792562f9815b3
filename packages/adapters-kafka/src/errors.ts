import { GovernorError } from '@governor/governor';

/** Why a Kafka adapter call failed. */
export const KafkaAdapterErrorCode = {
  /** The caller passed something no topic could carry: a bad id, signal or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** Publish or subscribe to a tenant topic that was never created or has been deleted. */
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  /** This bus already has a live subscription for the tenant (one consumer per tenant per bus). */
  ALREADY_SUBSCRIBED: 'ALREADY_SUBSCRIBED',
  /** The bus was closed; it takes no more calls. */
  CLOSED: 'CLOSED',
  /** Kafka did not answer or refused for a reason that may pass; the call can be retried. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type KafkaAdapterErrorCode = (typeof KafkaAdapterErrorCode)[keyof typeof KafkaAdapterErrorCode];

/** `retryable` says whether the same call may succeed later: it decides nack versus giving up. */
export class KafkaAdapterError extends GovernorError {
  declare readonly code: KafkaAdapterErrorCode;
  override readonly name = 'KafkaAdapterError';
  constructor(
    code: KafkaAdapterErrorCode,
    message: string,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, retryable, options);
  }
}

export function invalidArgument(message: string, cause?: unknown): KafkaAdapterError {
  return new KafkaAdapterError('INVALID_ARGUMENT', message, false, { cause });
}

export function topicNotFound(topic: string, accountId: string, cause?: unknown): KafkaAdapterError {
  return new KafkaAdapterError(
    'TOPIC_NOT_FOUND',
    `topic ${topic} does not exist: create it with createTopic('${accountId}') first`,
    false,
    { cause },
  );
}

/** Wraps a backend failure, keeping it as the cause; adapter errors pass through unchanged. */
export function unavailable(what: string, cause: unknown): KafkaAdapterError {
  if (cause instanceof KafkaAdapterError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new KafkaAdapterError(
    'UNAVAILABLE',
    `${what} failed: ${reason}. Check that the Kafka brokers (KAFKA_BROKERS) are reachable, then retry.`,
    true,
    { cause },
  );
}

/**
 * The Kafka protocol error name (`UNKNOWN_TOPIC_OR_PARTITION`, ...) of a kafkajs error, looking
 * through its retry wrappers (`KafkaJSNumberOfRetriesExceeded` keeps the last failure as `cause`).
 */
export function kafkaErrorType(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 8 && typeof current === 'object' && current !== null; depth++) {
    const { type, cause, originalError } = current as {
      type?: unknown;
      cause?: unknown;
      originalError?: unknown;
    };
    if (typeof type === 'string') return type;
    current = cause ?? originalError;
  }
  return undefined;
}

export function isUnknownTopic(error: unknown): boolean {
  return kafkaErrorType(error) === 'UNKNOWN_TOPIC_OR_PARTITION';
}
