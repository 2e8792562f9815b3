import { GovernorError } from '@governor/governor';

/** Why a local adapter failed; kept as the `cause` of the GovernorError the port caller sees. */
export const LocalAdapterErrorCode = {
  /** The caller passed something no store could accept: a bad chain id or a malformed batch. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** The files on disk contradict each other in a way recovery must not guess about. */
  CORRUPT_LEDGER: 'CORRUPT_LEDGER',
  /** Another live process held a chain's lock file for longer than the lock timeout. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
} as const;
export type LocalAdapterErrorCode = (typeof LocalAdapterErrorCode)[keyof typeof LocalAdapterErrorCode];

export class LocalAdapterError extends Error {
  override readonly name = 'LocalAdapterError';
  constructor(
    readonly code: LocalAdapterErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// The governor decides ack/nack and spool/give-up from GovernorError alone, so every failure a
// ledger reports is one, with the local reason kept as its cause.

export function conflict(message: string): GovernorError {
  return new GovernorError('LEDGER_CONFLICT', message, false);
}

/** A newer owner has claimed the chain under a higher fencing epoch: give the chain up. */
export function fenced(message: string): GovernorError {
  return new GovernorError('LEDGER_FENCED', message, false);
}

export function invalidArgument(message: string): GovernorError {
  return new GovernorError('LEDGER_UNAVAILABLE', message, false, {
    cause: new LocalAdapterError('INVALID_ARGUMENT', message),
  });
}

export function corrupt(message: string, cause?: unknown): GovernorError {
  return new GovernorError('LEDGER_UNAVAILABLE', message, false, {
    cause: new LocalAdapterError('CORRUPT_LEDGER', message, { cause }),
  });
}

/** Passes GovernorErrors through; anything else (I/O, lock timeout) is a retryable outage. */
export function unavailable(what: string, cause: unknown): GovernorError {
  if (cause instanceof GovernorError) return cause;
  const reason =
    typeof cause === 'object' && cause !== null && typeof (cause as Error).message === 'string'
      ? (cause as Error).message
      : String(cause);
  return new GovernorError('LEDGER_UNAVAILABLE', `${what}: ${reason}`, true, { cause });
}
