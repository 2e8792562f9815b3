import { availableParallelism, cpus } from 'node:os';
import { parseRuntimeBenchArgs, type RuntimeBenchArgs } from './runtime-args';
import { measureBroadcast, type BroadcastResult } from './runtime-broadcast';
import { note, since } from './runtime-fixture';
import { measureMemory, type MemoryResult } from './runtime-memory';
import { figure, num, renderTable, skipped, type Figure, type Target } from './report';
import { measureThroughput, type ThroughputResult } from './runtime-throughput';

/**
 * `pnpm bench:runtime [--memory-sizes 10000,100000] [--broadcast 10000] [--tenants 100]
 *   [--broadcast-repeat 3] [--signals 20000] [--raw-batch 100] [--only memory,broadcast,throughput] [--dir DIR] [--keep] [--json]`
 *
 * The GovernorRuntime on the in-process adapters: resident memory per idle governor, policy
 * broadcast latency, and signal → noop action → durable receipt throughput on the FileLedger,
 * each beside a raw baseline measured in the same run. The table (or with --json, one JSON
 * object) goes to stdout, progress to stderr. Exits 1 if a run did not do what it should
 * (a governor not swapped, a receipt missing); a MISS against a target is reported, not an error.
 */

const TARGETS = {
  memory: { op: '<=', value: 20, unit: 'KB', onRatio: false },
  broadcast: { op: '<', value: 100, unit: 'ms', onRatio: false },
  throughput: { op: '>=', value: 0.5, unit: '×', onRatio: true },
} as const satisfies Record<string, Target>;

interface Measurements {
  readonly memory: readonly MemoryResult[];
  readonly broadcast: BroadcastResult | null;
  readonly throughput: ThroughputResult | null;
}

const n = (x: number): string => x.toLocaleString('en-US');
const KB = (value: number) => ({ value, unit: 'KB' });
const ms = (value: number) => ({ value, unit: 'ms' });

function memoryFigures(m: MemoryResult): Figure[] {
  const valid =
    m.child.ledger_records === m.count
      ? { ok: true, why: '' }
      : { ok: false, why: `ledger holds ${m.child.ledger_records} receipts, expected ${m.count}` };
  const at = `@ ${n(m.count)}`;
  return [
    figure(
      `RSS per idle governor ${at} (incl. ledger)`,
      { label: 'rss', ...KB(m.rss_kb) },
      { label: 'bare record', ...KB(m.raw_rss_kb) },
      TARGETS.memory,
      valid,
    ),
    figure(
      `heap per idle governor ${at} (incl. ledger)`,
      { label: 'heap', ...KB(m.heap_kb) },
      { label: 'bare record', ...KB(m.raw_heap_kb) },
      TARGETS.memory,
      valid,
    ),
    figure(
      `heap per idle governor ${at} (excl. ledger)`,
      { label: 'heap', ...KB(m.heap_excl_ledger_kb) },
      { label: 'bare record', ...KB(m.raw_heap_kb) },
      TARGETS.memory,
      valid,
    ),
  ];
}

function broadcastFigures(b: BroadcastResult): Figure[] {
  const raw = { label: 'raw assign', ...ms(b.raw_ms) };
  const swapped = b.all_swapped
    ? { ok: true, why: '' }
    : {
        ok: false,
        why: b.runs
          .map(
            (r) =>
              `${r.policy_version}: ${r.swapped} swapped, ${r.push.governors_updated} updated (${r.push.outcome})`,
          )
          .join('; '),
      };
  const durable =
    swapped.ok && b.chains_ok === b.governors
      ? swapped
      : { ok: false, why: `${b.chains_ok} of ${b.governors} chains hold all their policy_upgraded receipts` };
  const of = b.runs.length > 1 ? `, median of ${b.runs.length} pushes` : '';
  return [
    figure(
      `policy swap, all ${n(b.governors)} governors${of}`,
      { label: 'swap', ...ms(b.swap_ms) },
      raw,
      TARGETS.broadcast,
      swapped,
    ),
    figure(
      `pushPolicy resolved (${n(b.governors)} receipts durable)${of}`,
      { label: 'resolved', ...ms(b.resolved_ms) },
      raw,
      TARGETS.broadcast,
      durable,
    ),
  ];
}

function throughputFigure(t: ThroughputResult): Figure {
  const e = t.e2e;
  const valid =
    e.action_complete === e.signals && e.heads_ok && e.other_receipts === 0
      ? { ok: true, why: '' }
      : {
          ok: false,
          why: `${e.action_complete}/${e.signals} action_complete, ${e.other_receipts} other receipts, heads ok ${e.heads_ok}`,
        };
  return figure(
    `signal → noop → durable receipt, FileLedger`,
    { label: 'e2e', value: e.rate, unit: 'receipts/s' },
    { label: `raw append ×${t.raw.batch}`, value: t.raw.rate, unit: 'receipts/s' },
    TARGETS.throughput,
    valid,
  );
}

function figuresOf(m: Measurements, args: RuntimeBenchArgs): Figure[] {
  const out: Figure[] = [];
  if (args.only.includes('memory')) out.push(...m.memory.flatMap(memoryFigures));
  else out.push(skipped('memory per idle governor', TARGETS.memory, 'not run (--only)'));
  if (m.broadcast) out.push(...broadcastFigures(m.broadcast));
  else out.push(skipped('policy broadcast', TARGETS.broadcast, 'not run (--only)'));
  if (m.throughput) out.push(throughputFigure(m.throughput));
  else out.push(skipped('signal → durable receipt', TARGETS.throughput, 'not run (--only)'));
  return out;
}

function footnotes(m: Measurements): string[] {
  const s = (x: number): string => `${(x / 1000).toFixed(1)} s`;
  const lines: string[] = [];
  for (const r of m.memory) {
    lines.push(
      `memory @ ${n(r.count)}: child process (--expose-gc), deltas after gc between runtime started and ` +
        `${n(r.count)} idle professional governors provisioned (${s(r.provision_ms)}) on MemoryLedger/Directory/Bus. ` +
        `Includes everything a governor holds: runtime maps, XState actor, ChainWriter, policy, directory record, ` +
        `bus topic + subscription, and its entitlement_active receipt in the MemoryLedger. Ledger share ` +
        `(same chains deep-copied into a second MemoryLedger): ${num(r.ledger_heap_kb)} KB heap, ` +
        `${num(r.ledger_rss_kb)} KB RSS per governor (${num(r.ledger_record_chars / r.count)} chars of record ` +
        `strings); RSS minus the ledger's heap share ${num(r.rss_excl_ledger_kb)} KB. RSS is sampled once it ` +
        `settles (V8 returns freed pages late); heap is the steadier figure. Bare record = a Map of plain tenant records. ` +
        `Child max RSS ${num(r.max_rss_mb)} MB, ${s(r.duration_ms)} in all.`,
    );
  }
  const b = m.broadcast;
  if (b) {
    const runs = b.runs
      .map(
        (r) =>
          `${r.policy_version}: swap ${num(r.swap_ms)} ms (first at ${num(r.first_swap_ms)}), ` +
          `poller ${r.poll_ms === null ? '-' : num(r.poll_ms)} ms, resolved ${num(r.resolved_ms)} ms, ` +
          `${r.push.outcome}/${r.push.compatibility_check} ${n(r.push.governors_updated)} updated ` +
          `${r.push.governors_failed} failed`,
      )
      .join('; ');
    lines.push(
      `broadcast: ${n(b.governors)} professional governors (provisioned in ${s(b.provision_ms)}, MemoryLedger), ` +
        `pushPolicy of professional 1.1.0${b.runs.length > 1 ? ', 1.2.0, ...' : ''} (only monthly_actions changes). ` +
        `Swap = the last governor's policy set (a per-instance setter); the poller checks ` +
        `list().every(...) once per event-loop turn, so it only sees the swap after the synchronous ` +
        `broadcast and the signing microtasks. Raw assign = list() + one field store per governor, median of ` +
        `${b.raw_runs.length}. Floor for the durable figure: ${n(b.governors)} raw Ed25519 signs take ` +
        `${num(b.raw_sign_ms)} ms on one thread.`,
      `  ${runs}.`,
    );
  }
  const t = m.throughput;
  if (t) {
    const e = t.e2e;
    lines.push(
      `throughput: ${e.tenants} tenants on a FileLedger (fsync), ${n(e.signals)} noop signals round-robin via ` +
        `runtime.submit (all submitted in ${num(e.submit_ms)} ms), timed to the last action_complete durable: ` +
        `${s(e.ms)}, CPU ${s(e.cpu_ms)}. ChainWriter batches: ${n(e.batches.appends)} appends, mean ` +
        `${num(e.batches.mean)}, median ${num(e.batches.p50)}, max ${e.batches.max}.`,
      `  raw: prebuilt signed action_complete receipts, FileLedger.append, ${t.raw.chains} chains concurrently ` +
        `× batches of ${t.raw.batch} (${t.rawRuns.map((r) => `${n(Math.round(r.rate))}/s`).join(' before, ')} ` +
        `after, pooled; CPU ${s(t.raw.cpu_ms)} of ${s(t.raw.ms)}). Raw at the e2e mean batch ` +
        `(${t.rawAtE2eBatch.batch}): ${n(Math.round(t.rawAtE2eBatch.rate))} receipts/s, e2e/that = ` +
        `${num(e.rate / t.rawAtE2eBatch.rate)}×.`,
    );
  }
  return lines;
}

/** JSON replacer: three decimals are plenty for rates, ratios and milliseconds. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

async function main(): Promise<void> {
  const args = parseRuntimeBenchArgs(process.argv.slice(2));
  const start = performance.now();
  const memory: MemoryResult[] = [];
  if (args.only.includes('memory'))
    for (const size of args.memorySizes) memory.push(await measureMemory(size));
  const broadcast = args.only.includes('broadcast')
    ? await measureBroadcast(args.broadcast, args.broadcastRepeat)
    : null;
  const throughput = args.only.includes('throughput')
    ? await measureThroughput({
        tenants: args.tenants,
        signals: args.signals,
        rawBatch: args.rawBatch,
        dir: args.dir,
        keep: args.keep,
      })
    : null;
  const measurements: Measurements = { memory, broadcast, throughput };
  const figures = figuresOf(measurements, args);
  const context = {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    duration_s: Math.round(since(start) / 100) / 10,
  };
  note(`done in ${context.duration_s} s`);
  if (args.json) {
    const pass = figures.every((f) => f.status !== 'MISS');
    const json = { ...context, args, pass, figures, details: measurements };
    process.stdout.write(`${JSON.stringify(json, roundNumbers, 2)}\n`);
  } else {
    process.stdout.write(
      `runtime bench: node ${context.node}, ${context.cpus} CPUs (${context.cpu_model}), ${context.duration_s} s\n\n` +
        `${renderTable(figures)}\n\n${footnotes(measurements).join('\n')}\n`,
    );
  }
  if (figures.some((f) => f.status === 'MISS' && f.note !== null)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  process.stderr.write(`runtime bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
