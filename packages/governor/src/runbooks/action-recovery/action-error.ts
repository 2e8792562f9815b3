/** A failure of an action, with the code that goes into its receipt. */
export class ActionError extends Error {
  override readonly name = 'ActionError';
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
