import { availableParallelism, cpus } from 'node:os';
import { parseBenchArgs } from './args';
import { figuresOf } from './figures';
import { measureAll, type Measurements } from './measure';
import { since } from './progress';
import { renderTable } from './report';

/**
 * `pnpm bench:receipts [--count N] [--threads N] [--json] [--million [--million-count N]] [--keep]`
 *
 * Receipt emit and verify throughput, each as a ratio against raw node:crypto Ed25519 measured
 * in the same run, and the peak RSS of a streaming full verify of a million receipts. The table
 * (or with --json, one JSON object) goes to stdout, progress to stderr. Exits 1 if a verifier
 * rejected the valid chain; a MISS against a target is reported, not an error.
 */

/** JSON replacer: three decimals are plenty for rates, ratios and milliseconds. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

/** Baselines that got less CPU than they can use: something else was running on the machine. */
function busy(m: Measurements, threads: number): string[] {
  const expected = [
    ['raw sign', m.rawSign.cores, 1],
    ['emit', m.emit.cores, 1],
    ['raw verify', m.rawVerify.cores, Math.min(threads, availableParallelism())],
  ] as const;
  return expected
    .filter(([, cores, want]) => cores < 0.85 * want)
    .map(([name, cores, want]) => `${name} kept ${cores.toFixed(2)} of ${want} cores busy`);
}

function footnotes(m: Measurements, threads: number): string[] {
  const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    'raw verify and checkpoint verify are pooled from a run before and a run after the full verify;',
    'raw sign and emit alternate in ten rounds.',
  ];
  const starved = busy(m, threads);
  if (starved.length > 0)
    lines.push(`WARNING: the machine looked busy (${starved.join('; ')}): figures are unreliable.`);
  if (m.memory !== null) {
    const v = m.memory.verify;
    lines.push(
      `memory: chain written in ${s(m.memory.generate_ms)} (${m.memory.file_mb} MB); child full verify ` +
        `${s(v.duration_ms)} (${v.rate.toLocaleString('en-US')} receipts/s, ok=${v.ok}); ` +
        `RSS sampled every 100 ms peaked at ${v.peak_rss_mb} MB, maxRSS ${v.max_rss_mb} MB.`,
    );
  }
  return lines;
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const start = performance.now();
  const measurements = await measureAll(args);
  const figures = figuresOf(measurements, args);
  const context = {
    count: args.count,
    threads: args.threads,
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    duration_s: Math.round(since(start) / 100) / 10,
  };
  if (args.json) {
    const pass = figures.every((f) => f.status !== 'MISS');
    const json = { ...context, pass, busy: busy(measurements, args.threads), figures, details: measurements };
    process.stdout.write(`${JSON.stringify(json, roundNumbers, 2)}\n`);
  } else {
    process.stdout.write(
      `receipts bench: ${context.count.toLocaleString('en-US')} receipts, ${context.threads} verify threads, ` +
        `node ${context.node}, ${context.cpus} CPUs (${context.cpu_model}), ${context.duration_s} s\n\n` +
        `${renderTable(figures)}\n\n${footnotes(measurements, args.threads).join('\n')}\n`,
    );
  }
  if (figures.some((f) => f.status === 'MISS' && f.note !== null)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`receipts bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
