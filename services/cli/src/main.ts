#!/usr/bin/env node
import { EXIT } from './errors';
import { expected, main } from './cli';

// A reader that stops early (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});
void main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  async (e: unknown) => {
    const line = await expected(e).catch(() => null);
    // Expected failures get one line; anything else is a bug and keeps its stack.
    if (line !== null) process.stderr.write(`governor: ${line}\n`);
    else process.stderr.write(`governor: unexpected error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT.USAGE;
  },
);
