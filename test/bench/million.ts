import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, rmSync } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import { append, checkpointAt, fieldsAt, KEYRING, startChain } from './fixture';
import { note, progress, since } from './progress';
import type { VerifyFileResult } from './verify-file';

export interface MemoryResult {
  readonly generate_ms: number;
  readonly file_mb: number;
  readonly verify: VerifyFileResult;
}

const LINES_PER_WRITE = 1_000;

/** Writes a `count`-receipt chain as JSONL, a thousand lines at a time; returns its checkpoint. */
async function writeChain(path: string, count: number): Promise<string> {
  const out = createWriteStream(path);
  const tick = progress('write chain', count);
  let head = startChain();
  let batch: string[] = [];
  for (let i = 0; i < count; i++) {
    const appended = append(head, fieldsAt(i), i);
    head = appended.head;
    batch.push(JSON.stringify(appended.record));
    if (batch.length === LINES_PER_WRITE || i === count - 1) {
      if (!out.write(`${batch.join('\n')}\n`)) await once(out, 'drain');
      batch = [];
      tick(i + 1);
    }
  }
  out.end();
  await finished(out);
  return checkpointAt(head);
}

async function runChild(
  script: string,
  args: readonly string[],
  signal: AbortSignal,
): Promise<VerifyFileResult> {
  const child = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'], signal });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const [code] = (await once(child, 'close')) as [number | null];
  if (code !== 0) throw new Error(`verify-file exited with ${code}`);
  return JSON.parse(stdout) as VerifyFileResult;
}

/** A full verify of a `count`-receipt chain streamed from disk in a child process, for its peak RSS. */
export async function measureMemory(count: number, threads: number, keep: boolean): Promise<MemoryResult> {
  const dir = await mkdtemp(join(tmpdir(), 'receipts-bench-'));
  // Interrupted, stop the child and delete the (large) chain file before dying of the signal.
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    abort.abort();
    if (!keep) rmSync(dir, { recursive: true, force: true });
    process.kill(process.pid, signal);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
  try {
    const chain = join(dir, 'chain.jsonl');
    const keys = join(dir, 'keys.json');
    const checkpoint = join(dir, 'checkpoint.txt');
    const start = performance.now();
    await writeFile(checkpoint, await writeChain(chain, count));
    const generateMs = since(start);
    await writeFile(keys, KEYRING.toJson());
    const size = (await stat(chain)).size;
    note(
      `wrote ${count} receipts (${Math.round(size / 1024 / 1024)} MB) in ${(generateMs / 1000).toFixed(1)} s`,
    );
    const verify = await runChild(
      join(__dirname, 'verify-file.js'),
      [
        ...['--file', chain, '--keys', keys, '--checkpoint', checkpoint],
        ...['--mode', 'full', '--threads', String(threads)],
      ],
      abort.signal,
    );
    return { generate_ms: Math.round(generateMs), file_mb: Math.round(size / 1024 / 1024), verify };
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    if (keep) note(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}
