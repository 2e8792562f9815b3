import type { Signal } from '@governor/governor';
import { signal } from '../../support/worker-fixtures';
import { n } from '../e2e-support';
import type { Args } from './args';
import { checkChains, checkOk, type Check } from './check';
import { Completion } from './completion';
import { coresBetween, type CpuMeter, type CpuReading } from './cpu';
import { closeRun, headSizes, openRun, setUp, type Run, type SetUp } from './setup';
import { note, type WorkerProc } from './worker';

/**
 * The load generator: noop signals published through Pub/Sub, timed to their action_complete
 * durable on the chains, with the CPU each component spent meanwhile.
 */

/** Publishes in flight at once from this process (the Pub/Sub client batches them per topic). */
export const PUBLISH_WINDOW = 200;
/** Chain heads are polled this often during a throughput run (one document read per tenant). */
export const POLL_MS = 200;
/** ... and this often for the few chains of the takeover. */
export const TAKEOVER_POLL_MS = 50;

type Cores = Record<string, number | null>;

export interface Throughput {
  readonly label: string;
  readonly project: string;
  readonly workers: readonly string[];
  readonly tenants: number;
  readonly signals: number;
  readonly provision_ms: number;
  readonly settle_ms: number;
  /** First publish → last publish resolved. */
  readonly publish_ms: number;
  /** First publish → last action_complete seen durable. */
  readonly ms: number;
  /** Signals whose action_complete was seen (all of them when completed). */
  readonly done: number;
  /** done per second of `ms`. */
  readonly rate: number;
  readonly completed: boolean;
  readonly cores: Cores;
  /** How many tenants each worker served during the run. */
  readonly shares: Readonly<Record<string, number>>;
  /** Tenants a worker's log says it serves though another holds the lease, once balanced. */
  readonly strays: Readonly<Record<string, readonly string[]>>;
  /** The lease period the workers reported ('took a share of the tenants'). */
  readonly lease_ms: number | null;
  readonly check: Check;
  readonly logProblems: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly stops: Record<string, string>;
}

/** The lease period the first worker reported. */
function leaseOf(run: Run): number | null {
  const line = run.workers[0]?.lines.find((l) => l.msg === 'took a share of the tenants');
  return typeof line?.lease_ms === 'number' ? line.lease_ms : null;
}

async function throughput(
  run: Run,
  args: Args,
  meter: CpuMeter,
  setup: SetUp,
): Promise<Omit<Throughput, 'stops'>> {
  const { provision_ms: provisionMs, balance } = setup;
  const settleMs = balance.ms;
  const shares = Object.fromEntries(run.workers.map((w) => [w.id, w.serving.size]));
  note(`${run.label}: publishing ${n(args.signals)} signals`);
  const signals: Signal[] = Array.from({ length: args.signals }, (_, i) =>
    signal(run.tenants[i % run.tenants.length] as string, `${run.label}-${i}`),
  );
  for (const s of signals) run.published.get(s.account_id)?.push(s.signal_id);
  const ids = run.tenants.map((t) => signals.filter((s) => s.account_id === t).map((s) => s.signal_id));
  const base = await headSizes(run, run.tenants);
  const cpu0 = meter.read();
  const start = performance.now();
  const watch = new Completion(run, run.tenants, ids, base, start, POLL_MS);
  watch.begin();
  let next = 0;
  const publish = { error: null as Error | null };
  const publishing = Promise.all(
    Array.from({ length: PUBLISH_WINDOW }, async () => {
      while (next < signals.length && publish.error === null) {
        const s = signals[next++] as Signal;
        await run.p.stores.bus.publish({ ...s, published_at: Date.now() });
      }
    }),
  ).then(
    () => performance.now() - start,
    (e: unknown) => {
      publish.error = e instanceof Error ? e : new Error(String(e));
      return NaN;
    },
  );
  let completed: boolean;
  let cpu1: CpuReading;
  try {
    completed = await watch.settle(() =>
      note(
        `${run.label}: chain heads at ${n(watch.polledTotal)} receipts of ${n(base.reduce((a, b) => a + b, 0) + args.signals)}`,
      ),
    );
    cpu1 = meter.read();
  } finally {
    await watch.stop();
  }
  const publishMs = await publishing;
  if (publish.error !== null) throw publish.error;
  // Incomplete: the rate of what completed, up to the last action_complete seen.
  const ends = watch.finishedAt(true);
  const ms = ends.reduce<number>((a, b) => Math.max(a, b ?? 0), 0);
  const done = watch.confirmed;
  note(
    `${run.label}: ${completed ? 'all' : `NOT all (${n(done)})`} signals done after ${(ms / 1000).toFixed(1)} s; ` +
      'verifying chains',
  );
  const check = await checkChains(run);
  return {
    label: run.label,
    project: run.p.projectId,
    workers: run.workers.map((w) => w.id),
    tenants: run.tenants.length,
    signals: args.signals,
    provision_ms: provisionMs,
    settle_ms: settleMs,
    publish_ms: publishMs,
    ms,
    done,
    rate: ms > 0 ? (done * 1000) / ms : 0,
    completed,
    cores: coresBetween(cpu0, cpu1),
    shares,
    lease_ms: leaseOf(run),
    strays: balance.strays,
    check,
    logProblems: Object.fromEntries(run.workers.map((w) => [w.id, w.problems()])),
  };
}

/**
 * Publishes `signals` (one per tenant of `tenants`) and waits for their action_complete; ms from
 * `start` (default: just before the first publish) to each one seen durable, null if never.
 */
export async function publishAndWatch(
  run: Run,
  tenants: readonly string[],
  signals: readonly Signal[],
  start?: number,
): Promise<(number | null)[]> {
  const base = await headSizes(run, tenants);
  const from = start ?? performance.now();
  const watch = new Completion(
    run,
    tenants,
    tenants.map((t) => signals.filter((s) => s.account_id === t).map((s) => s.signal_id)),
    base,
    from,
    TAKEOVER_POLL_MS,
  );
  watch.begin();
  try {
    await Promise.all(
      signals.map(async (s) => {
        run.published.get(s.account_id)?.push(s.signal_id);
        await run.p.stores.bus.publish({ ...s, published_at: Date.now() });
      }),
    );
    await watch.settle();
  } finally {
    await watch.stop();
  }
  return watch.finishedAt();
}

export const sortedTimes = (xs: readonly (number | null)[]): (number | null)[] =>
  [...xs].sort((x, y) => (x ?? Infinity) - (y ?? Infinity));

/** One throughput run on a fresh project with `count` workers, stopped and dropped whatever happens. */
export async function runThroughput(
  label: string,
  count: number,
  args: Args,
  logDir: string,
  meterFor: (workers: () => readonly WorkerProc[]) => CpuMeter,
): Promise<Throughput> {
  const run = await openRun(label, args, args.throughputLeaseMs);
  let measured: Omit<Throughput, 'stops'> | undefined;
  let stops: Record<string, string>;
  try {
    const setup = await setUp(run, count, logDir);
    measured = await throughput(
      run,
      args,
      meterFor(() => run.workers),
      setup,
    );
  } finally {
    // A run that lost, doubled or forked something leaves its project on the emulators to look at.
    const bad = measured !== undefined && !checkOk(measured.check);
    if (bad) note(`${label}: the check failed; project ${run.p.projectId} left on the emulators`);
    stops = await closeRun(run, args.keep || bad);
  }
  return { ...measured, stops };
}
