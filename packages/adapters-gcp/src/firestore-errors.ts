import { GovernorError } from '@governor/governor';

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

/** A Firestore call that did not answer within `ms`: the store is treated as unavailable. */
export class DeadlineError extends Error {
  override readonly name = 'DeadlineError';
  readonly code = 'DEADLINE';
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
 * What the governor sees of a failed Firestore call: a LEDGER_CONFLICT when another writer got
 * there first (a seq document exists, the head moved), a non-retryable error when the request
 * is wrong, and a retryable LEDGER_UNAVAILABLE for everything else (safe mode, spool).
 */
export function ledgerError(what: string, error: unknown): GovernorError {
  if (error instanceof GovernorError) return error;
  const code = grpcCode(error);
  const reason = error instanceof Error ? error.message : String(error);
  if (code === GrpcCode.ALREADY_EXISTS || code === GrpcCode.FAILED_PRECONDITION || code === GrpcCode.ABORTED)
    return new GovernorError(
      'LEDGER_CONFLICT',
      `${what}: another writer got there first (${reason})`,
      false,
      {
        cause: error,
      },
    );
  if (code === GrpcCode.INVALID_ARGUMENT)
    return new GovernorError(
      'LEDGER_UNAVAILABLE',
      `${what}: Firestore refused the request: ${reason}`,
      false,
      {
        cause: error,
      },
    );
  return new GovernorError('LEDGER_UNAVAILABLE', `${what}: ${reason}`, true, { cause: error });
}
