/** Codes of the exceptions this package throws. Bad data being verified is never an exception. */
export const ReceiptsErrorCode = {
  NOT_CANONICALIZABLE: 'NOT_CANONICALIZABLE',
  INVALID_RECEIPT: 'INVALID_RECEIPT',
  INVALID_KEY: 'INVALID_KEY',
  INVALID_KEYS_FILE: 'INVALID_KEYS_FILE',
  INVALID_CHECKPOINT: 'INVALID_CHECKPOINT',
  INVALID_ARCHIVE: 'INVALID_ARCHIVE',
  ARCHIVE_EXISTS: 'ARCHIVE_EXISTS',
  PROOF_UNAVAILABLE: 'PROOF_UNAVAILABLE',
  /** A reader stopped at one of the verifier's limits (see limits.ts): the input is not verifiable. */
  LIMIT_EXCEEDED: 'LIMIT_EXCEEDED',
} as const;
export type ReceiptsErrorCode = (typeof ReceiptsErrorCode)[keyof typeof ReceiptsErrorCode];

export class ReceiptsError extends Error {
  override readonly name = 'ReceiptsError';
  constructor(
    readonly code: ReceiptsErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
  /** None of these failures goes away by trying again: they are bad input or bad configuration. */
  readonly retryable = false;
}
