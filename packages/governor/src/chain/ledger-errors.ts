import { GovernorError } from '../errors';

// The governor decides ack/nack and spool/give-up from GovernorError alone, so every refusal a
// ledger rule reports is one, whichever adapter applied the rule.

/** Why a store refused a call outright: retrying the same call cannot help. */
export class InvalidArgumentError extends Error {
  override readonly name = 'InvalidArgumentError';
  readonly code = 'INVALID_ARGUMENT';
  readonly retryable = false;
}

/** Another writer got to the chain first: the batch does not continue the stored head. */
export function ledgerConflict(message: string): GovernorError {
  return new GovernorError('LEDGER_CONFLICT', message, false);
}

/** A newer owner has claimed the chain under a higher fencing epoch: give the chain up. */
export function ledgerFenced(message: string): GovernorError {
  return new GovernorError('LEDGER_FENCED', message, false);
}

/** A call no ledger accepts (a bad chain id, a malformed batch), with the reason as its cause. */
export function ledgerInvalidArgument(message: string): GovernorError {
  return new GovernorError('LEDGER_UNAVAILABLE', message, false, {
    cause: new InvalidArgumentError(message),
  });
}
