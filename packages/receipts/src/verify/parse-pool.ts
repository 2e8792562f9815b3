import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { LineOutcome } from './line-check';

/**
 * The compiled worker: beside this file when it runs from dist/; from the sources (under jest)
 * the package's dist/ copy. Null when there is none: the caller checks lines itself then.
 */
function workerFile(): string | null {
  for (const path of [join(__dirname, 'parse-worker.js'), join(__dirname, '../../dist/verify/parse-worker.js')])
    if (existsSync(path)) return path;
  return null;
}

/**
 * Checks lines on worker threads, in batches, and hands each batch's outcomes back in the order
 * the lines were added, whichever thread answers first. Work in flight is bounded, so a
 * streaming verifier's memory stays flat however long the chain.
 */
export class ParsePool<Item> {
  private readonly waiting = new Map<number, { resolve: (o: LineOutcome[]) => void; reject: (e: Error) => void }>();
  private readonly inFlight: Promise<void>[] = [];
  private lines: string[] = [];
  private items: Item[] = [];
  private tail: Promise<void> = Promise.resolve();
  private nextId = 0;
  private next = 0;
  private failure: Error | undefined;
  private closing = false;

  private constructor(
    private readonly workers: Worker[],
    private readonly onBatch: (items: readonly Item[], outcomes: readonly LineOutcome[]) => void,
    private readonly batchSize: number,
  ) {
    for (const w of workers) {
      w.on('message', ({ id, outcomes }: { id: number; outcomes: LineOutcome[] }) => {
        this.waiting.get(id)?.resolve(outcomes);
        this.waiting.delete(id);
      });
      // A dead worker would leave its batches unanswered forever: fail the pool instead, so
      // drain() throws and nothing is reported valid that was not checked.
      w.on('error', (e) => this.fail(e));
      w.on('exit', (code) => {
        if (!this.closing) this.fail(new Error(`verify worker exited with code ${code}`));
      });
    }
  }

  /** A pool of `threads` workers, or null when the compiled worker is not at hand. */
  static open<Item>(
    keys: readonly (readonly [keyId: string, rawBase64: string])[],
    threads: number,
    onBatch: (items: readonly Item[], outcomes: readonly LineOutcome[]) => void,
    batchSize = 256,
  ): ParsePool<Item> | null {
    const file = workerFile();
    if (file === null) return null;
    const workers = Array.from({ length: threads }, () => new Worker(file, { workerData: { keys } }));
    return new ParsePool(workers, onBatch, batchSize);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.values()) w.reject(this.failure);
    this.waiting.clear();
  }

  /** Queues one line (empty for an item that needs no checking); resolves once there is room for more. */
  async add(line: string, item: Item): Promise<void> {
    if (this.failure) throw this.failure;
    this.lines.push(line);
    this.items.push(item);
    if (this.lines.length >= this.batchSize) await this.dispatch();
  }

  private async dispatch(): Promise<void> {
    if (this.lines.length === 0) return;
    const { lines, items } = this;
    this.lines = [];
    this.items = [];
    const id = this.nextId++;
    const worker = this.workers[this.next++ % this.workers.length] as Worker;
    const answered = new Promise<LineOutcome[]>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, lines });
    });
    // Batches are settled strictly in order: a chain is checked line after line.
    const settled = Promise.all([this.tail, answered]).then(([, outcomes]) => this.onBatch(items, outcomes));
    // Rejections surface in drain(); this branch only keeps them from being unhandled meanwhile.
    settled.catch(() => undefined);
    this.tail = settled;
    this.inFlight.push(settled);
    // Two batches per worker keep every thread busy without letting a fast reader run ahead.
    if (this.inFlight.length > this.workers.length * 2) await this.inFlight.shift();
    if (this.failure) throw this.failure;
  }

  /** Settles every queued line; throws if a worker died (results would be incomplete). */
  async drain(): Promise<void> {
    await this.dispatch();
    await Promise.all(this.inFlight.splice(0));
    if (this.failure) throw this.failure;
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
