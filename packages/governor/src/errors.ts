/** Codes of the exceptions the governor core throws. */
export const GovernorErrorCode = {
  LEDGER_CONFLICT: 'LEDGER_CONFLICT',
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  /**
   * Another client has claimed the chain under a higher fencing epoch (a newer lease owner):
   * this client's claim or commit is refused and nothing was written. Never retryable: the
   * writer must give the chain up, not spool or try again.
   */
  LEDGER_FENCED: 'LEDGER_FENCED',
  SPOOL_FAILED: 'SPOOL_FAILED',
  /** No policy is published for the plan: final, and said without where the registry looked. */
  PLAN_UNKNOWN: 'PLAN_UNKNOWN',
  /** The account already runs (or is being provisioned under) another entitlement: final. */
  ENTITLEMENT_CONFLICT: 'ENTITLEMENT_CONFLICT',
} as const;
export type GovernorErrorCode = (typeof GovernorErrorCode)[keyof typeof GovernorErrorCode];

export class GovernorError extends Error {
  override readonly name = 'GovernorError';
  constructor(
    readonly code: GovernorErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What every policy registry throws for a plan with no published policy (never a path or a URI). */
export function planUnknown(plan: string): GovernorError {
  return new GovernorError(GovernorErrorCode.PLAN_UNKNOWN, `no policy is published for plan ${plan}`, false);
}

/**
 * Whether a failure says trying again may succeed (an outage): GovernorError and the adapters'
 * errors carry `retryable`. Anything else is taken as final.
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}
