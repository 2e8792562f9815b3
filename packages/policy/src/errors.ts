/** Codes of the exceptions this package throws. A bad policy is never an exception. */
export const PolicyErrorCode = {
  INVALID_SEMVER: 'INVALID_SEMVER',
  INVALID_CONCURRENCY: 'INVALID_CONCURRENCY',
} as const;
export type PolicyErrorCode = (typeof PolicyErrorCode)[keyof typeof PolicyErrorCode];

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  constructor(
    readonly code: PolicyErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  /** These are programming errors (arguments a caller should have validated): retrying cannot help. */
  readonly retryable = false;
}
