import {
  GovernorError,
  ledgerConflict,
  ledgerFenced,
  storeRefused,
  storeUnavailable,
  type Store,
} from '@governor/governor';

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

export class LocalAdapterError extends GovernorError {
  declare readonly code: LocalAdapterErrorCode;
  override readonly name = 'LocalAdapterError';
  constructor(code: LocalAdapterErrorCode, message: string, options?: { cause?: unknown }) {
    // A held lock is released sooner or later; bad input and contradicting files stay.
    super(code, message, code === LocalAdapterErrorCode.LOCK_TIMEOUT, options);
  }
}

function reasonOf(cause: unknown): string {
  return typeof cause === 'object' && cause !== null && typeof (cause as Error).message === 'string'
    ? (cause as Error).message
    : String(cause);
}

/**
 * The failures of one local store, as the GovernorErrors its port callers branch on, each with
 * the local reason as its cause. The governor decides ack/nack and spool/give-up from them alone.
 */
export function storeErrors(store: Store) {
  return {
    invalidArgument: (message: string): GovernorError =>
      storeRefused(store, message, new LocalAdapterError('INVALID_ARGUMENT', message)),

    corrupt: (message: string, cause?: unknown): GovernorError =>
      storeRefused(store, message, new LocalAdapterError('CORRUPT_LEDGER', message, { cause })),

    /**
     * Passes GovernorErrors through; anything else (I/O, a held lock) is a retryable outage.
     * A LocalAdapterError is a reason, not an answer: it is wrapped like the rest.
     */
    unavailable: (what: string, cause: unknown): GovernorError =>
      cause instanceof GovernorError && !(cause instanceof LocalAdapterError)
        ? cause
        : storeUnavailable(store, `${what}: ${reasonOf(cause)}`, cause),
  };
}

export const { invalidArgument, corrupt, unavailable } = storeErrors('ledger');

export function conflict(message: string): GovernorError {
  return ledgerConflict(message);
}

/** A newer owner has claimed the chain under a higher fencing epoch: give the chain up. */
export function fenced(message: string): GovernorError {
  return ledgerFenced(message);
}
