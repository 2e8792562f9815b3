import { createReadStream, promises as fs } from 'node:fs';
import { splitLines } from '@governor/receipts';
import { CliError } from './errors';

export async function readText(path: string, what: string): Promise<string> {
  try {
    return await fs.readFile(path, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      2,
      { cause: e },
    );
  }
}

/** Lines of a file, or of standard input for `-`. Fails early with a clear message if the file is missing. */
export async function openLines(path: string): Promise<AsyncGenerator<string>> {
  if (path === '-') return splitLines(process.stdin);
  try {
    await fs.access(path);
  } catch (e) {
    throw new CliError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? 'unreadable'}`, 2, {
      cause: e,
    });
  }
  return splitLines(createReadStream(path));
}

/** Progress on stderr, only when a person is watching (stderr is a terminal). */
export function progress(label: string): { tick(n: number): void; done(): void } {
  if (!process.stderr.isTTY) return { tick: () => undefined, done: () => undefined };
  let last = 0;
  return {
    tick(n) {
      const now = Date.now();
      if (now - last < 250) return;
      last = now;
      process.stderr.write(`\r${label}: ${n.toLocaleString('en-US')}`);
    },
    done() {
      process.stderr.write('\r\x1b[K');
    },
  };
}
