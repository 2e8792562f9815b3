import { createReadStream, mkdirSync, promises as fs, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { splitLines } from '@governor/receipts';
import { CliError, environmentError } from './errors';

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

/**
 * Creates `dir` and its missing parents one at a time, or fails with one line (exit 2) saying why
 * and what to do. Not `mkdir -p`: Node's recursive mkdir never settles on some file systems
 * (`/proc/x`), and a CLI must answer.
 */
export function ensureDir(dir: string, mode = 0o777): string {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    try {
      if (!statSync(at).isDirectory()) throw new CliError(`cannot use ${dir}: ${at} is a file, not a folder`);
      break;
    } catch (e) {
      if (e instanceof CliError) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || dirname(at) === at) throw failure(e);
      missing.unshift(at);
    }
  }
  for (const at of missing)
    try {
      mkdirSync(at, { mode });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      // ENOENT with the parent there: a file system that takes no folders (/proc).
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        throw new CliError(`cannot create ${at}: no folder can be made there: give a writable path`, 2, {
          cause: e,
        });
      throw failure(e);
    }
  return resolve(dir);
}

const failure = (e: unknown) =>
  new CliError(environmentError(e) ?? `cannot create a folder: ${(e as Error).message}`, 2, { cause: e });
