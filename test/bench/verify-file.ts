import { createReadStream, readFileSync, statSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ChainVerifier, formatIssue, Keyring, splitLines, type VerifyMode } from '@governor/receipts';
import { progress, rate, since } from './progress';

/** What this script prints on stdout, as one JSON line. */
export interface VerifyFileResult {
  readonly ok: boolean;
  readonly mode: VerifyMode;
  readonly threads: number;
  readonly count: number;
  readonly checkpoints_verified: number;
  readonly duration_ms: number;
  readonly rate: number;
  /** Highest process.memoryUsage.rss(), sampled every 100 ms, in MB. */
  readonly peak_rss_mb: number;
  /** process.resourceUsage().maxRSS (the kernel's high-water mark), in MB. */
  readonly max_rss_mb: number;
  readonly issues: readonly string[];
}

const MB = 1024 * 1024;

/**
 * Streams a JSONL chain from disk into a ChainVerifier, in its own process so its memory can be
 * measured alone: `verify-file.js --file chain.jsonl --keys keys.json [--checkpoint note.txt]
 * [--mode full|checkpoint] [--threads N]`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    strict: true,
    options: {
      file: { type: 'string' },
      keys: { type: 'string' },
      checkpoint: { type: 'string' },
      mode: { type: 'string', default: 'full' },
      threads: { type: 'string', default: '2' },
    },
  });
  const { file, keys } = values;
  if (file === undefined || keys === undefined) throw new Error('--file and --keys are required');
  if (values.mode !== 'full' && values.mode !== 'checkpoint') throw new Error('--mode is full or checkpoint');
  const mode: VerifyMode = values.mode;
  const threads = Number(values.threads);

  let peak = process.memoryUsage.rss();
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 100);
  const totalMb = Math.max(1, Math.ceil(statSync(file).size / MB));
  const tick = progress(`${mode} verify of file, MB read`, totalMb);
  let bytes = 0;
  const onChunk = (chunk: Buffer): void => {
    bytes += chunk.length;
    tick(Math.min(totalMb, Math.ceil(bytes / MB)));
  };

  const start = performance.now();
  const verifier = new ChainVerifier({
    keyring: Keyring.fromJson(readFileSync(keys, 'utf8')),
    checkpoints: values.checkpoint === undefined ? [] : [readFileSync(values.checkpoint, 'utf8')],
    mode,
    threads,
  });
  for await (const line of splitLines(createReadStream(file), onChunk)) await verifier.push(line);
  const report = await verifier.finish();
  const ms = since(start);
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage.rss());

  const result: VerifyFileResult = {
    ok: report.ok,
    mode,
    threads,
    count: report.count,
    checkpoints_verified: report.checkpoints_verified,
    duration_ms: Math.round(ms),
    rate: Math.round(rate(report.count, ms)),
    peak_rss_mb: Math.round(peak / MB),
    max_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    issues: report.issues.slice(0, 5).map(formatIssue),
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`verify-file: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
