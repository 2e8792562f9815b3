import { GovernorError } from '@governor/governor';

/** Why a Pub/Sub adapter call failed. */
export const PubSubAdapterErrorCode = {
  /** The caller passed something no topic could carry: a bad id, signal or control message. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** Publish to a tenant topic that was never created or has been deleted. */
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  /** Subscribe to a tenant whose topic (and so subscription) was never created or has been deleted. */
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  /** Pub/Sub did not answer or refused for a reason that may pass; the call can be retried. */
  UNAVAILABLE: 'UNAVAILABLE',
} as const;
export type PubSubAdapterErrorCode = (typeof PubSubAdapterErrorCode)[keyof typeof PubSubAdapterErrorCode];

/** `retryable` says whether the same call may succeed later: it decides nack versus giving up. */
export class PubSubAdapterError extends GovernorError {
  declare readonly code: PubSubAdapterErrorCode;
  override readonly name = 'PubSubAdapterError';
  constructor(
    code: PubSubAdapterErrorCode,
    message: string,
    retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(code, message, retryable, options);
  }
}

/** gRPC status codes the adapters branch on (the emulator answers with the same codes). */
export const GrpcStatus = { NOT_FOUND: 5, ALREADY_EXISTS: 6 } as const;

export function grpcCode(error: unknown): number | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'number' ? code : undefined;
}

/** Resolves when `promise` does or fails with gRPC status `code` (idempotent create/delete). */
export async function tolerating(promise: Promise<unknown>, code: number): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (grpcCode(error) !== code) throw error;
  }
}

export function invalidArgument(message: string, cause?: unknown): PubSubAdapterError {
  return new PubSubAdapterError('INVALID_ARGUMENT', message, false, { cause });
}

/** Wraps a backend failure, keeping it as the cause; adapter errors pass through unchanged. */
export function unavailable(what: string, cause: unknown): PubSubAdapterError {
  if (cause instanceof PubSubAdapterError) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new PubSubAdapterError(
    'UNAVAILABLE',
    `${what} failed: ${reason}. Check that Pub/Sub (or PUBSUB_EMULATOR_HOST) is reachable, then retry.`,
    true,
    { cause },
  );
}
