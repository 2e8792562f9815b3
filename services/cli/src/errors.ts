/** A failure the CLI reports in one line with exit status 2 (usage or I/O), never a stack trace. */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly exitCode = 2,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const EXIT = { VALID: 0, INVALID: 1, USAGE: 2 } as const;

/** The first line of an error's message: what one-line reports are made of. */
export function firstLine(e: unknown): string {
  return ((e instanceof Error ? e.message : String(e)).split('\n')[0] ?? '').trim();
}
