import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { MemoryChildResult } from './runtime-memory-child';
import { note, since } from './runtime-fixture';

export interface MemoryResult {
  readonly count: number;
  readonly duration_ms: number;
  readonly provision_ms: number;
  /** Per governor, in KB (1024 bytes). */
  readonly rss_kb: number;
  readonly heap_kb: number;
  /** The MemoryLedger's share (its chains copied into a second ledger), per governor. */
  readonly ledger_heap_kb: number;
  readonly ledger_rss_kb: number;
  readonly ledger_record_chars: number;
  /** heap_kb and rss_kb minus the ledger's heap share (its records are heap objects only). */
  readonly heap_excl_ledger_kb: number;
  readonly rss_excl_ledger_kb: number;
  /** The raw baseline: one bare tenant record in a Map, per tenant. */
  readonly raw_heap_kb: number;
  readonly raw_rss_kb: number;
  readonly max_rss_mb: number;
  readonly child: MemoryChildResult;
}

const KB = 1024;

/** Runs the memory measurement for `count` governors in a child process of its own. */
export function measureMemory(count: number): Promise<MemoryResult> {
  const script = join(__dirname, 'runtime-memory-child.js');
  const start = performance.now();
  note(`memory ${count}: child process ${process.execPath} --expose-gc ${script} ${count}`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', script, String(count)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || line === '') {
        reject(new Error(`memory child for ${count} exited with ${code ?? signal}`));
        return;
      }
      const r = JSON.parse(line) as MemoryChildResult;
      const per = (bytes: number): number => bytes / KB / count;
      const rss = per(r.governors.rss - r.base.rss);
      const heap = per(r.governors.heapUsed - r.base.heapUsed);
      const ledgerHeap = per(r.ledgerCopy.heapUsed - r.governors.heapUsed);
      const ledgerRss = per(r.ledgerCopy.rss - r.governors.rss);
      resolve({
        count,
        duration_ms: since(start),
        provision_ms: r.provision_ms,
        rss_kb: rss,
        heap_kb: heap,
        ledger_heap_kb: ledgerHeap,
        ledger_rss_kb: ledgerRss,
        ledger_record_chars: r.ledger_record_chars,
        heap_excl_ledger_kb: heap - ledgerHeap,
        rss_excl_ledger_kb: rss - ledgerHeap,
        raw_heap_kb: per(r.raw.heapUsed - r.ledgerCopy.heapUsed),
        raw_rss_kb: per(r.raw.rss - r.ledgerCopy.rss),
        max_rss_mb: r.max_rss / 2 ** 20,
        child: r,
      });
    });
  });
}
