import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { spawnTs } from '@governor/testkit';

const MAIN = join(__dirname, '..', '..', 'services', 'worker', 'src', 'main.ts');

/** A worker process run from its sources, with its JSON log lines collected. */
export interface WorkerProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: Record<string, unknown>[];
  /** Resolves with the first log line whose msg matches; rejects if the worker exits first. */
  waitFor(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code (null when killed by the signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
  readonly stderr: () => string;
}

/** A worker (or another service's main, e.g. the ingress) as a process. */
export function startWorker(env: Record<string, string>, main = MAIN): WorkerProcess {
  const child = spawnTs(main, env);
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  let exited: number | null | undefined;
  child.stdout.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      try {
        lines.push(JSON.parse(part) as Record<string, unknown>);
      } catch {
        lines.push({ msg: part });
      }
    }
    for (const w of waiters) w();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      exited = code;
      for (const w of waiters) w();
      resolve(code);
    }),
  );
  return {
    child,
    lines,
    stderr: () => stderr,
    waitFor(msg, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`worker never logged ${String(msg)}; stderr: ${stderr.slice(-2000)}`));
        }, timeoutMs);
        const check = () => {
          const line = lines.find((l) => typeof l.msg === 'string' && msg.test(l.msg));
          if (line || exited !== undefined) {
            clearTimeout(timer);
            waiters.delete(check);
            if (line) resolve(line);
            else
              reject(
                new Error(
                  `worker exited (${String(exited)}) before logging ${String(msg)}: ${stderr.slice(-2000)}`,
                ),
              );
          }
        };
        waiters.add(check);
        check();
      });
    },
    async stop(signal) {
      if (exited !== undefined) return exited;
      child.kill(signal);
      return exit;
    },
  };
}
