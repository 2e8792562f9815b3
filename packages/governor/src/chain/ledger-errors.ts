import { GovernorError, GovernorErrorCode, storeRefused } from '../errors';

// The governor decides ack/nack and spool/give-up from GovernorError alone, so every refusal a
// ledger rule reports is one, whichever adapter applied the rule.

/** Another writer got to the chain first: the batch does not continue the stored head. */
export function ledgerConflict(message: string): GovernorError {
  return new GovernorError('LEDGER_CONFLICT', message, false);
}

/** A newer owner has claimed the chain under a higher fencing epoch: give the chain up. */
export function ledgerFenced(message: string): GovernorError {
  return new GovernorError('LEDGER_FENCED', message, false);
}

/** A call no ledger accepts (a bad chain id, a malformed batch): retrying it cannot help. */
export function ledgerInvalidArgument(message: string): GovernorError {
  return storeRefused('ledger', message, new GovernorError('INVALID_ARGUMENT', message, false));
}

/** A refusal because a newer owner claimed the chain: never spooled, never retried. */
export function isFenced(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === GovernorErrorCode.LEDGER_FENCED;
}

/** A fenced refusal as the GovernorError the writer reports. */
export function fencedError(error: unknown): GovernorError {
  if (error instanceof GovernorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new GovernorError(GovernorErrorCode.LEDGER_FENCED, message, false, { cause: error });
}
