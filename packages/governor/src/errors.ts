/**
 * Every code a GovernorError (or an adapter's subclass of it) may carry, by area. Callers
 * branch on `code` and `retryable`, never on messages.
 */
export const GovernorErrorCode = {
  // Ledger
  LEDGER_CONFLICT: 'LEDGER_CONFLICT',
  /** The ledger did not answer (retryable), or refused the call or holds what it cannot read (final). */
  LEDGER_UNAVAILABLE: 'LEDGER_UNAVAILABLE',
  /**
   * Another client has claimed the chain under a higher fencing epoch (a newer lease owner):
   * this client's claim or commit is refused and nothing was written. Never retryable: the
   * writer must give the chain up, not spool or try again.
   */
  LEDGER_FENCED: 'LEDGER_FENCED',
  /** Files on disk contradict each other in a way recovery must not guess about. */
  CORRUPT_LEDGER: 'CORRUPT_LEDGER',

  // Spool
  SPOOL_FAILED: 'SPOOL_FAILED',

  // Tenant directory
  /** The directory did not answer (retryable), or refused the call or holds what it cannot read (final). */
  DIRECTORY_UNAVAILABLE: 'DIRECTORY_UNAVAILABLE',
  /** Not an account id: no store accepts it, so it is refused before any I/O. Final. */
  INVALID_ACCOUNT_ID: 'INVALID_ACCOUNT_ID',

  // Leases
  /** The lease store did not answer (retryable), or refused the call or holds what it cannot read (final). */
  LEASE_UNAVAILABLE: 'LEASE_UNAVAILABLE',

  // Policy registry
  /** No policy is published for the plan: final, and said without where the registry looked. */
  PLAN_UNKNOWN: 'PLAN_UNKNOWN',
  POLICY_NOT_FOUND: 'POLICY_NOT_FOUND',
  /** The version is already published with a different document; versions are immutable. */
  POLICY_EXISTS: 'POLICY_EXISTS',
  POLICY_CORRUPT: 'POLICY_CORRUPT',
  /** The plan's latest policy does not validate. */
  POLICY_INVALID: 'POLICY_INVALID',
  SKU_NOT_IN_PLAN: 'SKU_NOT_IN_PLAN',

  // Entitlements
  /** The account already runs (or is being provisioned under) another entitlement: final. */
  ENTITLEMENT_CONFLICT: 'ENTITLEMENT_CONFLICT',

  // Actions
  /** No handler is registered for the action's kind. */
  NO_HANDLER: 'NO_HANDLER',

  // Signal bus and control channel
  TOPIC_NOT_FOUND: 'TOPIC_NOT_FOUND',
  SUBSCRIPTION_NOT_FOUND: 'SUBSCRIPTION_NOT_FOUND',
  ALREADY_SUBSCRIBED: 'ALREADY_SUBSCRIBED',
  CLOSED: 'CLOSED',
  /** The transport did not answer or refused for a reason that may pass. */
  UNAVAILABLE: 'UNAVAILABLE',

  // Configuration and start-up
  CONFIG_INVALID: 'CONFIG_INVALID',
  STORAGE_UNREACHABLE: 'STORAGE_UNREACHABLE',
  BUCKET_MISSING: 'BUCKET_MISSING',

  // Archives, checkpoint witnesses and the object storage under them
  ARCHIVE_EXISTS: 'ARCHIVE_EXISTS',
  ARCHIVE_CORRUPT: 'ARCHIVE_CORRUPT',
  WITNESS_CONFLICT: 'WITNESS_CONFLICT',
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  STORAGE_REJECTED: 'STORAGE_REJECTED',

  // Any area
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** A store call got no answer within its deadline. */
  DEADLINE: 'DEADLINE',
  /** Another live process held a lock for longer than the lock timeout. */
  LOCK_TIMEOUT: 'LOCK_TIMEOUT',
  /** A failure that was not a GovernorError where one was expected (see ensureGovernorError). */
  INTERNAL: 'INTERNAL',
} as const;
export type GovernorErrorCode = (typeof GovernorErrorCode)[keyof typeof GovernorErrorCode];

/**
 * The one error base of the governor and its adapters. `retryable` is always stated: the
 * governor decides nack or give up, spool or fail, safe mode or not from it. The failure that
 * led here is kept as `cause`. Adapters subclass it, narrowing `code` to the codes they use.
 */
export class GovernorError extends Error {
  override readonly name: string = 'GovernorError';
  constructor(
    readonly code: GovernorErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The stores whose outages and refusals have a code of their own. */
export type Store = 'ledger' | 'directory' | 'lease';

const UNAVAILABLE = {
  ledger: GovernorErrorCode.LEDGER_UNAVAILABLE,
  directory: GovernorErrorCode.DIRECTORY_UNAVAILABLE,
  lease: GovernorErrorCode.LEASE_UNAVAILABLE,
} as const;

function withCause(cause: unknown): { cause?: unknown } {
  return cause === undefined ? {} : { cause };
}

/** `store` did not answer, or failed in a way that may pass: retry, spool or go to safe mode. */
export function storeUnavailable(store: Store, message: string, cause?: unknown): GovernorError {
  return new GovernorError(UNAVAILABLE[store], message, true, withCause(cause));
}

/** `store` refused the call or holds what it cannot read: trying again will not help. */
export function storeRefused(store: Store, message: string, cause?: unknown): GovernorError {
  return new GovernorError(UNAVAILABLE[store], message, false, withCause(cause));
}

/** What a directory or lease store throws for an id that is not an account id. */
export function invalidAccountId(accountId: string): GovernorError {
  return new GovernorError(
    GovernorErrorCode.INVALID_ACCOUNT_ID,
    `not an account id: ${JSON.stringify(accountId)}`,
    false,
  );
}

/** What every policy registry throws for a plan with no published policy (never a path or a URI). */
export function planUnknown(plan: string): GovernorError {
  return new GovernorError(GovernorErrorCode.PLAN_UNKNOWN, `no policy is published for plan ${plan}`, false);
}

/** The plan's latest policy does not validate: final until another version is published. */
export function policyInvalid(plan: string, problem: string): GovernorError {
  return new GovernorError(
    GovernorErrorCode.POLICY_INVALID,
    `plan ${plan} has no valid policy: ${problem}`,
    false,
  );
}

/** The entitlement's SKU is not one its plan's policy serves: final. */
export function skuNotInPlan(sku: string, plan: string): GovernorError {
  return new GovernorError(
    GovernorErrorCode.SKU_NOT_IN_PLAN,
    `sku ${sku} is not served by plan ${plan}`,
    false,
  );
}

/**
 * Whether a failure says trying again may succeed (an outage): GovernorError and the adapters'
 * errors carry `retryable`. Anything else is taken as final.
 */
export function isRetryable(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { retryable?: unknown }).retryable === true;
}

/**
 * For boundaries: a GovernorError (or an adapter's subclass) as it is; anything else as an
 * `INTERNAL` GovernorError that keeps it as the cause. It stays retryable only if it said so
 * itself (`retryable: true`), so `isRetryable` answers the same before and after.
 */
export function ensureGovernorError(error: unknown): GovernorError {
  if (error instanceof GovernorError) return error;
  const message =
    typeof error === 'object' && error !== null && typeof (error as Error).message === 'string'
      ? (error as Error).message
      : String(error);
  return new GovernorError(GovernorErrorCode.INTERNAL, message, isRetryable(error), { cause: error });
}
