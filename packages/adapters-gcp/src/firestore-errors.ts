import {
  GovernorError,
  GovernorErrorCode,
  storeRefused,
  storeUnavailable,
  type Store,
} from '@governor/governor';

/** gRPC status codes the Firestore client reports (google.rpc.Code). */
export const GrpcCode = {
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  UNAVAILABLE: 14,
} as const;

export function grpcCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A Firestore call that did not answer within its deadline: the store is treated as unavailable. */
export class DeadlineError extends GovernorError {
  declare readonly code: 'DEADLINE';
  override readonly name = 'DeadlineError';
  constructor(message: string) {
    super('DEADLINE', message, true);
  }
}

/**
 * Bounds a Firestore call. The client itself retries an unreachable or stalled server for a
 * minute or more; safe mode must start within seconds, so the governor stops waiting here. The
 * call may still land later (a stalled server that resumes): the chain writer's recovery
 * checks for that before it re-appends.
 */
export async function withDeadline<T>(ms: number, call: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DeadlineError(`no answer from Firestore within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([call(), deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * What the governor sees of a failed Firestore call to `store`: a non-retryable refusal when
 * the request is wrong, and a retryable outage for everything else (safe mode, spool). For the
 * ledger, a LEDGER_CONFLICT when another writer got there first (a seq document exists, the
 * head moved); the other stores' conditional writes handle a lost race themselves, so one that
 * reaches here is refused. GovernorErrors thrown inside the call pass through, but a missed
 * deadline is reported as the store's outage like any other.
 */
export function firestoreError(store: Store, what: string, error: unknown): GovernorError {
  if (error instanceof GovernorError && !(error instanceof DeadlineError)) return error;
  const code = grpcCode(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (
    code === GrpcCode.ALREADY_EXISTS ||
    code === GrpcCode.FAILED_PRECONDITION ||
    code === GrpcCode.ABORTED
  ) {
    const message = `${what}: another writer got there first (${reason})`;
    return store === 'ledger'
      ? new GovernorError(GovernorErrorCode.LEDGER_CONFLICT, message, false, { cause: error })
      : storeRefused(store, message, error);
  }
  if (code === GrpcCode.INVALID_ARGUMENT)
    return storeRefused(store, `${what}: Firestore refused the request: ${reason}`, error);
  return storeUnavailable(store, `${what}: ${reason}`, error);
}

/** A failed call of the ledger (see firestoreError). */
export function ledgerError(what: string, error: unknown): GovernorError {
  return firestoreError('ledger', what, error);
}

/** A failed call of the tenant directory (see firestoreError). */
export function directoryError(what: string, error: unknown): GovernorError {
  return firestoreError('directory', what, error);
}

/** A failed call of the lease store (see firestoreError). */
export function leaseError(what: string, error: unknown): GovernorError {
  return firestoreError('lease', what, error);
}

/** A request the ledger refuses before sending it, as Firestore itself would (INVALID_ARGUMENT). */
export function ledgerRefused(what: string, reason: string): GovernorError {
  return storeRefused('ledger', `${what}: Firestore refused the request: ${reason}`);
}
