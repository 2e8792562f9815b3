import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus as cpuInfo, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { tenantChain } from '@governor/contracts';
import type { Signal } from '@governor/governor';
import { formatIssue, verifyLines } from '@governor/receipts';
import { backends } from '../support/backends';
import { gcpProject } from '../support/gcp-project';
import { entitlement, signal } from '../support/worker-fixtures';
import { BackendsDown, n, requireBackends, runId, sleep } from './e2e-support';
import { figure, num, renderTable, type Figure, type Target } from './report';
import {
  coreCount,
  coresBetween,
  CpuMeter,
  emulatorPids,
  killAll,
  note,
  WORKER_MAIN,
  WorkerProc,
  type CpuReading,
} from './scaleout-support';

/**
 * `pnpm bench:scaleout [--quick] [--tenants 20] [--signals 4000] [--lease-ms 3000] [--throughput-lease-ms MS]
 *   [--keep] [--json]`
 *
 * Tenant ownership across worker processes on the local emulators (Pub/Sub, Firestore,
 * fake-gcs-server), each worker the built `node services/worker/dist/main.js` in a child process:
 *   1. one worker, a fresh project: N starter tenants provisioned over governor.control, then M
 *      noop signals published through Pub/Sub round-robin (at most PUBLISH_WINDOW publishes in
 *      flight), timed from the first publish to the last action_complete durable in Firestore
 *      (chain heads polled) → signals/s. Run before and after (2); the faster is the baseline;
 *   2. two workers, a fresh project (worker-a provisions, then worker-b joins), the same load once
 *      their leases are balanced (N/2 each) → signals/s, and the ratio to (1). Throughput runs
 *      use the worker's default lease period unless --throughput-lease-ms says otherwise;
 *   3. takeover, a fresh project: two workers at --lease-ms (3 s), the tenants balanced, one
 *      warm-up signal each; SIGKILL worker-a; the time until worker-b logs 'tenant taken over' for
 *      each of a's tenants, and until a signal published to each right after the kill has its
 *      action_complete; then one more signal each, publish → action_complete.
 * CPU of the workers, this process, the emulators (their process trees, pids from
 * `infra/local/backends.sh status`) and the whole machine is read from /proc over each
 * throughput run, to say which component was saturated. After each phase every chain is read
 * back and verified (verifyLines with the workers' keyring): forks (chains that do not verify),
 * lost signals (no action_complete) and duplicate receipts (more than one) must all be 0.
 * The table (or with --json, one JSON object) goes to stdout, progress to stderr. Exits 1 when a
 * run did not do what it should (lost, duplicated, forked, a phase that failed); a MISS against a
 * performance target is reported, not an error.
 */

const USAGE =
  'usage: scaleout.bench [--quick] [--tenants N] [--signals N] [--lease-ms MS] [--throughput-lease-ms MS] ' +
  '[--keep] [--json]';

/** Publishes in flight at once from this process (the Pub/Sub client batches them per topic). */
const PUBLISH_WINDOW = 200;
/** Chain heads are polled this often during a throughput run (one document read per tenant). */
const POLL_MS = 200;
/** ... and this often for the few chains of the takeover. */
const TAKEOVER_POLL_MS = 50;
/** A run gives up when no chain has grown for this long. */
const STALL_MS = 30_000;
const STARTER_QUOTA = 1_000;

class UsageError extends Error {}

interface Args {
  readonly tenants: number;
  readonly signals: number;
  /** GOVERNOR_LEASE_MS of the takeover run. */
  readonly leaseMs: number;
  /** GOVERNOR_LEASE_MS of the throughput runs; null: the worker's default. */
  readonly throughputLeaseMs: number | null;
  readonly quick: boolean;
  readonly keep: boolean;
  readonly json: boolean;
}

function parse(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      tenants: { type: 'string' },
      signals: { type: 'string' },
      'lease-ms': { type: 'string' },
      'throughput-lease-ms': { type: 'string' },
      quick: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const v = Number(text.replace(/_/g, ''));
    if (!Number.isSafeInteger(v) || v <= 0)
      throw new UsageError(`--${name} must be a positive integer, got "${text}"\n${USAGE}`);
    return v;
  };
  const quick = values.quick;
  const args = {
    tenants: positive('tenants', values.tenants, quick ? 10 : 20),
    signals: positive('signals', values.signals, quick ? 1_000 : 4_000),
    leaseMs: positive('lease-ms', values['lease-ms'], 3_000),
    throughputLeaseMs:
      values['throughput-lease-ms'] === undefined
        ? null
        : positive('throughput-lease-ms', values['throughput-lease-ms'], 0),
    quick,
    keep: values.keep,
    json: values.json,
  };
  if (args.tenants < 2)
    throw new UsageError(`--tenants must be at least 2 (two workers share them)\n${USAGE}`);
  if (Math.min(args.leaseMs, args.throughputLeaseMs ?? 300) < 300)
    throw new UsageError(`lease periods must be at least 300 ms (the worker's minimum)`);
  // Starter tenants: 1,000 actions a month each; every signal must run.
  const perTenant = Math.ceil(args.signals / args.tenants) + 1;
  if (perTenant > STARTER_QUOTA)
    throw new UsageError(
      `${perTenant} signals per tenant exceed the starter plan's monthly quota (${STARTER_QUOTA}): raise --tenants`,
    );
  return args;
}

const accountId = (i: number): string => `t-${String(i).padStart(4, '0')}`;

// ---------------------------------------------------------------------------------- project ---

type Project = Awaited<ReturnType<typeof gcpProject>>;

/** One phase's emulator state: a project, its bucket and data dir; its workers. */
interface Run {
  readonly label: string;
  readonly p: Project;
  readonly tenants: readonly string[];
  readonly workers: WorkerProc[];
  /** Signal ids published per tenant, for the checks. */
  readonly published: Map<string, string[]>;
}

/** A fresh project; `leaseMs` null leaves GOVERNOR_LEASE_MS to the worker's default. */
async function openRun(label: string, args: Args, leaseMs: number | null): Promise<Run> {
  const p = await gcpProject(`bench-scale-${label}`, {
    ...(leaseMs === null ? {} : { GOVERNOR_LEASE_MS: String(leaseMs) }),
    GOVERNOR_DRAIN_TIMEOUT_MS: '5000',
    LOG_LEVEL: 'info',
  });
  const tenants = Array.from({ length: args.tenants }, (_, i) => accountId(i + 1));
  return { label, p, tenants, workers: [], published: new Map(tenants.map((t) => [t, []])) };
}

/** Starts a worker on the run's project and waits for its 'worker ready'. */
async function startWorker(run: Run, id: string, logDir: string): Promise<void> {
  const w = new WorkerProc(id, run.p.env, join(logDir, `${run.label}-${id}.log`));
  run.workers.push(w);
  await w.waitFor("'worker ready'", (l) => l.msg === 'worker ready', 60_000);
}

interface SetUp {
  readonly provision_ms: number;
  readonly balance: Balance;
}

/**
 * worker-a alone provisions the tenants; with `count` 2, worker-b joins afterwards and the
 * leases are balanced by the workers' own hand-over (worker-a sheds its surplus, worker-b takes
 * it). worker-a first also makes the development signing key in the shared data dir, which
 * worker-b then reads. (Provisioning with both workers up races the balancer against the
 * provisioning: a worker can shed a tenant it is still provisioning, see the report.)
 */
async function setUp(run: Run, count: number, logDir: string): Promise<SetUp> {
  note(`${run.label}: project ${run.p.projectId}, ${count} worker(s) (${WORKER_MAIN})`);
  await startWorker(run, 'worker-a', logDir);
  const provisionMs = await provision(run);
  if (count > 1) await startWorker(run, 'worker-b', logDir);
  const balance = await balanced(run);
  note(
    `${run.label}: ${run.tenants.length} tenants provisioned in ${(provisionMs / 1000).toFixed(1)} s, leases ` +
      `balanced ${JSON.stringify(Object.fromEntries(run.workers.map((w) => [w.id, w.serving.size])))} ` +
      `${(balance.ms / 1000).toFixed(1)} s later`,
  );
  return { provision_ms: provisionMs, balance };
}

/** Stops the workers (SIGTERM, then SIGKILL); drops the project's data from the emulators unless `keep`. */
async function closeRun(run: Run, keep: boolean): Promise<Record<string, string>> {
  const stops: Record<string, string> = {};
  await Promise.all(run.workers.map(async (w) => (stops[w.id] = await w.stop(15_000))));
  if (!keep) {
    const { pubsub, storage } = run.p.stores.clients;
    const bucket = run.p.env.GOVERNOR_BUCKET as string;
    await Promise.allSettled([
      fetch(
        `http://${backends.firestore}/emulator/v1/projects/${run.p.projectId}/databases/(default)/documents`,
        { method: 'DELETE' },
      ),
      storage
        .bucket(bucket)
        .deleteFiles({ force: true })
        .then(() => storage.bucket(bucket).delete()),
      (async () => {
        const [subs] = await pubsub.getSubscriptions();
        await Promise.allSettled(subs.map((s) => s.delete()));
        const [topics] = await pubsub.getTopics();
        await Promise.allSettled(topics.map((t) => t.delete()));
      })(),
    ]);
    await run.p.cleanup();
  } else {
    // The data dir holds the key the chains verify with.
    await run.p.stores.close();
    note(
      `${run.label}: kept project ${run.p.projectId}, bucket ${run.p.env.GOVERNOR_BUCKET}, data dir ${run.p.dataDir}`,
    );
  }
  return stops;
}

async function headSizes(run: Run, tenants: readonly string[]): Promise<number[]> {
  return Promise.all(tenants.map(async (t) => (await run.p.stores.ledger.head(tenantChain(t)))?.size ?? 0));
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | null>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(100);
  }
}

/** entitlement.created for every tenant on governor.control, until each chain has its first receipt. */
async function provision(run: Run): Promise<number> {
  const start = performance.now();
  for (const t of run.tenants)
    await run.p.stores.control.publish(entitlement(t, 'starter', 'governor-starter'));
  await waitFor('entitlement_active on every tenant', 30_000 + 2_000 * run.tenants.length, async () =>
    (await headSizes(run, run.tenants)).every((s) => s >= 1) ? true : null,
  );
  return performance.now() - start;
}

interface Balance {
  readonly ms: number;
  /**
   * Tenants a worker's log says it serves (provisioned or taken over, not handed over or lost)
   * while another worker holds the lease: e.g. handed over by the balancer while its provisioning
   * was still running, the provisioning finishing afterwards.
   */
  readonly strays: Readonly<Record<string, readonly string[]>>;
}

/**
 * Until the leases are balanced (every tenant leased, each live worker a fair share) and every
 * holder has logged serving the tenants it leases (provisioned or taken over).
 */
async function balanced(run: Run, timeoutMs = 60_000): Promise<Balance> {
  const start = performance.now();
  const live = run.workers.filter((w) => w.running);
  const low = Math.floor(run.tenants.length / live.length);
  let state = '';
  let held = new Map<string, Set<string>>();
  await waitFor(`balanced leases (${low}+ of ${run.tenants.length} each)`, timeoutMs, async () => {
    const now = Date.now();
    const leases = (await run.p.stores.leases.list()).filter((l) => l.expires_at > now);
    held = new Map<string, Set<string>>(live.map((w) => [w.id, new Set()]));
    for (const l of leases) held.get(l.holder)?.add(l.account_id);
    const leased = new Set(leases.map((l) => l.account_id));
    state =
      `${leased.size}/${run.tenants.length} leased; ` +
      live
        .map((w) => {
          const mine = held.get(w.id) as Set<string>;
          const waiting = [...mine].filter((t) => !w.serving.has(t));
          return `${w.id} leases ${mine.size}${waiting.length > 0 ? ` (not yet serving ${waiting.join(' ')})` : ''}`;
        })
        .join(', ');
    return run.tenants.every((t) => leased.has(t)) &&
      live.every((w) => {
        const mine = held.get(w.id) as Set<string>;
        return mine.size >= low && mine.size <= low + 1 && [...mine].every((t) => w.serving.has(t));
      })
      ? true
      : null;
  }).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}: ${state}`);
  });
  const strays = Object.fromEntries(
    live
      .map((w) => [w.id, [...w.serving].filter((t) => !held.get(w.id)?.has(t)).sort()] as const)
      .filter(([, x]) => x.length > 0),
  );
  return { ms: performance.now() - start, strays };
}

// ---------------------------------------------------------------------------- completion ---

/**
 * Watches chains until every signal published to them has its action_complete: chain heads are
 * polled every `pollMs` (the time each size was first seen is kept); a chain whose head reached
 * what it should is read from where its last read stopped, and whatever is still missing raises
 * what its head must reach (other receipts, such as a scale_up, share the chain).
 */
class Completion {
  private readonly history: { t: number; size: number }[][];
  private readonly want: number[];
  private readonly afterSeq: number[];
  private readonly seen: Map<string, number>[];
  /** The seq of the last action_complete of a watched signal, per chain. */
  private readonly lastSeq: number[];
  private readonly done: boolean[];
  private sizes: number[];
  private stopped = false;
  private lastGrowth = performance.now();
  private poller: Promise<void> = Promise.resolve();
  /** Head polls that failed in a row, and the last failure. */
  private failures = 0;
  private lastFailure = '';

  constructor(
    private readonly run: Run,
    private readonly tenants: readonly string[],
    private readonly ids: readonly (readonly string[])[],
    base: readonly number[],
    private readonly start: number,
    private readonly pollMs: number,
  ) {
    this.history = tenants.map(() => []);
    this.want = base.map((b, i) => b + (ids[i]?.length ?? 0));
    this.afterSeq = base.map((b) => b - 1);
    this.seen = tenants.map(() => new Map());
    this.lastSeq = tenants.map(() => -1);
    this.done = ids.map((x) => x.length === 0);
    this.sizes = [...base];
  }

  begin(): void {
    this.poller = (async () => {
      while (!this.stopped) {
        try {
          const sizes = await headSizes(this.run, this.tenants);
          const t = performance.now() - this.start;
          sizes.forEach((s, i) => {
            const h = this.history[i] as { t: number; size: number }[];
            if (h.length === 0 || (h[h.length - 1] as { size: number }).size !== s) {
              h.push({ t, size: s });
              this.lastGrowth = performance.now();
            }
          });
          this.sizes = sizes;
          this.failures = 0;
        } catch (e) {
          this.failures += 1;
          this.lastFailure = e instanceof Error ? e.message : String(e);
        }
        await sleep(this.pollMs);
      }
    })();
  }

  /** Resolves once every watched signal has its action_complete; false when nothing grew for STALL_MS. */
  async settle(progress?: () => void): Promise<boolean> {
    let lastNote = performance.now();
    for (;;) {
      if (this.failures >= 10)
        throw new Error(
          `polling the chain heads failed ${this.failures} times in a row: ${this.lastFailure}`,
        );
      for (let i = 0; i < this.tenants.length; i++) {
        if (this.done[i] || (this.sizes[i] ?? 0) < (this.want[i] ?? 0)) continue;
        await this.catchUp(i);
      }
      if (this.done.every(Boolean)) return true;
      if (performance.now() - this.lastGrowth > STALL_MS) {
        // What did complete, for the partial figures.
        for (let i = 0; i < this.tenants.length; i++) if (!this.done[i]) await this.catchUp(i);
        return false;
      }
      if (progress && performance.now() - lastNote > 5_000) {
        progress();
        lastNote = performance.now();
      }
      await sleep(Math.min(this.pollMs, 50));
    }
  }

  private async catchUp(i: number): Promise<void> {
    const chain = tenantChain(this.tenants[i] as string);
    const seen = this.seen[i] as Map<string, number>;
    const ids = new Set(this.ids[i]);
    const from = this.afterSeq[i] as number;
    for await (const r of this.run.p.stores.ledger.read(chain, from >= 0 ? { afterSeq: from } : {})) {
      const body = JSON.parse(r.body) as { operation: string; seq: number; signal_id?: string };
      this.afterSeq[i] = body.seq;
      if (body.operation === 'action_complete' && body.signal_id !== undefined && ids.has(body.signal_id)) {
        seen.set(body.signal_id, (seen.get(body.signal_id) ?? 0) + 1);
        this.lastSeq[i] = body.seq;
      }
    }
    const missing = [...ids].filter((id) => !seen.has(id)).length;
    if (missing === 0) this.done[i] = true;
    else this.want[i] = (this.afterSeq[i] as number) + 1 + missing;
  }

  /** Watched signals whose action_complete was read back. */
  get confirmed(): number {
    return this.seen.reduce((sum, m) => sum + m.size, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.poller;
  }

  get polledTotal(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Per chain, ms from `start` to the first poll that saw its last watched action_complete
   * (null while it has not all; with `partial`, its last one so far); the durable time is at most
   * that, and after the poll before.
   */
  finishedAt(partial = false): (number | null)[] {
    return this.tenants.map((_, i) => {
      const last = this.lastSeq[i] as number;
      if ((!partial && !this.done[i]) || last < 0) return null;
      return (this.history[i] ?? []).find((h) => h.size > last)?.t ?? null;
    });
  }
}

// ------------------------------------------------------------------------------- throughput ---

type Cores = Record<string, number | null>;

interface Throughput {
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

// --------------------------------------------------------------------------------- takeover ---

interface Takeover {
  readonly project: string;
  readonly lease_ms: number;
  readonly killed: string;
  readonly survivor: string;
  /** The tenants the killed worker held. */
  readonly tenants: number;
  readonly chosen: string;
  /** SIGKILL → the survivor's 'tenant taken over' line for the chosen tenant (its pino time). */
  readonly chosen_takeover_ms: number;
  /** SIGKILL → action_complete of the signal published to the chosen tenant right after the kill. */
  readonly chosen_signal_ms: number | null;
  readonly all_takeover_ms: number;
  readonly all_signals_ms: number | null;
  /** Each tenant's takeover, sorted. */
  readonly takeover_spread: readonly number[];
  /** Each signal published right after the kill, to its action_complete, sorted (null: never). */
  readonly signal_spread: readonly (number | null)[];
  /** Publish → action_complete of one more signal per tenant once the survivor serves them all. */
  readonly after_takeover: readonly (number | null)[];
  readonly reconciled: number;
  readonly previous_holders: readonly string[];
  readonly adopt_ms: readonly number[];
  readonly check: Check;
  readonly logProblems: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/**
 * Publishes `signals` (one per tenant of `tenants`) and waits for their action_complete; ms from
 * `start` (default: just before the first publish) to each one seen durable, null if never.
 */
async function publishAndWatch(
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

const sortedTimes = (xs: readonly (number | null)[]): (number | null)[] =>
  [...xs].sort((x, y) => (x ?? Infinity) - (y ?? Infinity));

async function takeover(run: Run, args: Args): Promise<Omit<Takeover, 'project'>> {
  const [a, b] = run.workers as [WorkerProc, WorkerProc];
  const now = Date.now();
  const leased = (await run.p.stores.leases.list())
    .filter((l) => l.holder === a.id && l.expires_at > now)
    .map((l) => l.account_id)
    .filter((t) => a.serving.has(t))
    .sort();
  if (leased.length === 0) throw new Error(`${a.id} holds no tenant to take over`);
  const chosen = leased[0] as string;
  const chosenIndex = 0;
  note(`takeover: SIGKILL ${a.id} (pid ${a.pid}, ${leased.length} tenants, lease ${args.leaseMs} ms)`);
  const mark = b.lines.length;
  const killedAt = Date.now();
  const start = performance.now();
  await a.kill();
  const signals = leased.map((t) => signal(t, `after-kill-${t}`));
  const ends = await publishAndWatch(run, leased, signals, start);
  const timeout = args.leaseMs + 30_000;
  const lines = await Promise.all(
    leased.map((t) =>
      b.waitFor(
        `'tenant taken over' for ${t}`,
        (l) => l.msg === 'tenant taken over' && l.account_id === t && b.lines.indexOf(l) >= mark,
        timeout,
      ),
    ),
  );
  const takeovers = lines.map((l) => (typeof l.time === 'number' ? l.time : Date.now()) - killedAt);
  await balanced(run, timeout);
  // One more signal each, once the survivor serves them all: whether what the first one waited
  // for was the takeover or something after it.
  note('takeover: one more signal per tenant, now that the survivor serves them all');
  const after = await publishAndWatch(
    run,
    leased,
    leased.map((t) => signal(t, `after-takeover-${t}`)),
  );
  note('takeover: verifying chains');
  const check = await checkChains(run);
  return {
    lease_ms: args.leaseMs,
    killed: a.id,
    survivor: b.id,
    tenants: leased.length,
    chosen,
    chosen_takeover_ms: takeovers[chosenIndex] as number,
    chosen_signal_ms: ends[chosenIndex] ?? null,
    all_takeover_ms: Math.max(...takeovers),
    all_signals_ms: ends.every((e) => e !== null) ? Math.max(...ends.map((e) => e ?? 0)) : null,
    takeover_spread: [...takeovers].sort((x, y) => x - y),
    signal_spread: sortedTimes(ends),
    after_takeover: sortedTimes(after),
    reconciled: lines.reduce((s, l) => s + (typeof l.reconciled === 'number' ? l.reconciled : 0), 0),
    previous_holders: [...new Set(lines.map((l) => String(l.previous_holder)))],
    adopt_ms: lines.map((l) => (typeof l.ms === 'number' ? l.ms : -1)),
    check,
    logProblems: Object.fromEntries(run.workers.map((w) => [w.id, w.problems()])),
  };
}

// ------------------------------------------------------------------------------------ check ---

interface Check {
  readonly chains: number;
  readonly receipts: number;
  readonly signals: number;
  /** Published signals without an action_complete. */
  readonly lost: number;
  /** action_complete receipts beyond the first for a signal. */
  readonly duplicates: number;
  /** Chains that do not verify (hash links, signatures, contiguous seqs, one receipt per seq). */
  readonly forks: number;
  readonly issues: number;
  /** Stored heads that are not the end of the chain read back. */
  readonly bad_heads: number;
  /** Receipts other than entitlement_active at seq 0 and the published signals' action_complete. */
  readonly other: Readonly<Record<string, number>>;
  readonly samples: readonly string[];
  /** Lost signals by tenant, where any were. */
  readonly lost_by_tenant: Readonly<Record<string, number>>;
}

/** Every chain of the run read back and verified with the workers' keyring, signals counted. */
async function checkChains(run: Run): Promise<Check> {
  const keyring = await run.p.keyring();
  let receipts = 0;
  let signals = 0;
  let lost = 0;
  let duplicates = 0;
  let forks = 0;
  let issues = 0;
  let badHeads = 0;
  const other: Record<string, number> = {};
  const samples: string[] = [];
  const lostBy: Record<string, number> = {};
  for (let i = 0; i < run.tenants.length; i += 5)
    await Promise.all(
      run.tenants.slice(i, i + 5).map(async (t) => {
        const chain = tenantChain(t);
        const lines: string[] = [];
        const seen = new Map<string, number>();
        for await (const r of run.p.stores.ledger.read(chain)) {
          lines.push(JSON.stringify(r));
          const body = JSON.parse(r.body) as { operation: string; seq: number; signal_id?: string };
          if (body.operation === 'action_complete' && body.signal_id !== undefined)
            seen.set(body.signal_id, (seen.get(body.signal_id) ?? 0) + 1);
          else if (!(body.operation === 'entitlement_active' && body.seq === 0))
            other[body.operation] = (other[body.operation] ?? 0) + 1;
        }
        const report = await verifyLines(lines, { keyring, expectedChain: chain, threads: 0 });
        const head = await run.p.stores.ledger.head(chain);
        if (head?.size !== lines.length || head.head_hash !== report.head_hash) badHeads += 1;
        const ids = run.published.get(t) ?? [];
        for (const id of ids) {
          const times = seen.get(id) ?? 0;
          if (times === 0) {
            lost += 1;
            lostBy[t] = (lostBy[t] ?? 0) + 1;
          }
          if (times > 1) duplicates += times - 1;
          seen.delete(id);
        }
        for (const [op, times] of seen) other[`action_complete of unknown ${op}`] = times;
        receipts += lines.length;
        signals += ids.length;
        if (!report.ok) {
          forks += 1;
          issues += report.issues.length;
          if (samples.length < 3 && report.issues[0])
            samples.push(`${chain}: ${formatIssue(report.issues[0])}`);
        }
      }),
    );
  return {
    chains: run.tenants.length,
    receipts,
    signals,
    lost,
    duplicates,
    forks,
    issues,
    bad_heads: badHeads,
    other,
    samples,
    lost_by_tenant: Object.fromEntries(Object.entries(lostBy).sort()),
  };
}

const checkOk = (c: Check): boolean =>
  c.lost === 0 && c.duplicates === 0 && c.forks === 0 && c.bad_heads === 0;

// ------------------------------------------------------------------------------ bottleneck ---

interface Verdict {
  /** What limited the run, in a few words. */
  readonly saturated: string;
  /** All the machine's CPUs were busy. */
  readonly machineBound: boolean;
  /** An emulator was saturated, or the machine was and the emulators used more of it than the workers. */
  readonly emulatorBound: boolean;
  /** CPU ms per signal: the workers together, each emulator, this process. */
  readonly perSignal: Readonly<Record<string, number>>;
  /** Signals/s the machine's CPUs could carry at these costs, if nothing else ran on it. */
  readonly ceiling: number | null;
  readonly text: string;
}

const c2 = (x: number | null | undefined): string => (x === null || x === undefined ? '-' : x.toFixed(2));
const ms1 = (x: number | undefined): string => (x === undefined ? '-' : `${x.toFixed(1)} ms`);
const EMULATORS = ['firestore', 'pubsub', 'gcs'] as const;

/**
 * Which component limited a run, from the cores each kept busy: a worker is one JavaScript
 * thread (≈ 1 core at most, a little more with GC and I/O threads); an emulator is a JVM (or Go)
 * process that can use every core; the machine has `cpus` cores for all of them, this process
 * and whatever else runs. With the CPU each spends per signal, the most the machine could carry.
 */
function verdict(r: Throughput, cpus: number): Verdict {
  const v = (k: string) => r.cores[k] ?? 0;
  const workers = r.workers.reduce((s, w) => s + v(w), 0);
  const emu = EMULATORS.reduce((s, e) => s + v(e), 0);
  const own = workers + emu + v('bench');
  const per = (cores: number) => (r.signals > 0 ? (cores * r.ms) / r.signals : 0);
  const perSignal: Record<string, number> = { workers: per(workers) };
  for (const e of EMULATORS) perSignal[e] = per(v(e));
  perSignal.bench = per(v('bench'));
  const ceiling = own > 0 && r.rate > 0 ? (cpus * r.rate) / own : null;
  const machine = r.cores.machine ?? own + v('other');
  const machineBound = machine / cpus >= 0.85;
  const hotWorker = r.workers.find((w) => v(w) >= 0.85);
  const hotEmulator = EMULATORS.find((e) => v(e) >= 0.85);
  const emulatorBound = hotEmulator !== undefined || (machineBound && emu > workers);
  const saturated =
    hotWorker !== undefined
      ? `${hotWorker}'s JavaScript thread`
      : hotEmulator !== undefined
        ? `the ${hotEmulator} emulator`
        : machineBound
          ? `the machine's ${cpus} CPUs`
          : 'no CPU (latency-bound)';
  const costs =
    `CPU per signal: workers ${ms1(perSignal.workers)}, firestore ${ms1(perSignal.firestore)}, pubsub ` +
    `${ms1(perSignal.pubsub)}, gcs ${ms1(perSignal.gcs)}, bench ${ms1(perSignal.bench)}`;
  const busy =
    `cores busy: ${r.workers.map((w) => `${w} ${c2(r.cores[w])}`).join(', ')}, firestore ${c2(r.cores.firestore)}, ` +
    `pubsub ${c2(r.cores.pubsub)}, gcs ${c2(r.cores.gcs)}, bench ${c2(r.cores.bench)}, other jobs ${c2(r.cores.other)}; ` +
    `machine ${c2(machine)} of ${cpus}`;
  const share =
    machineBound && hotWorker === undefined && hotEmulator === undefined
      ? ` Of our processes the ${emu > workers ? 'emulators' : 'workers'} use the larger part (emulators ${c2(emu)}, workers ${c2(workers)} cores).`
      : '';
  return {
    saturated,
    machineBound,
    emulatorBound,
    perSignal,
    ceiling,
    text:
      `${saturated} (${busy}).${share} ${costs}` +
      (ceiling === null ? '.' : `: at these costs ${cpus} cores carry at most ~${num(ceiling)} signals/s.`) +
      (r.workers.length === 1 && perSignal.workers && perSignal.workers > 0
        ? ` One worker's thread alone could do ~${num(1000 / perSignal.workers)}/s.`
        : ''),
  };
}

// ----------------------------------------------------------------------------------- report ---

const TARGETS = {
  scale: { op: '>=', value: 1.6, unit: '×', onRatio: true },
  zero: { op: '<=', value: 0, unit: '', onRatio: false },
} as const satisfies Record<string, Target>;

const msTarget = (leaseMs: number): Target => ({
  op: '<=',
  value: leaseMs + 2_000,
  unit: 'ms',
  onRatio: false,
});

interface Measurements {
  /** One worker, before and after the two-worker run: the faster is the baseline. */
  readonly one: readonly [Throughput, Throughput];
  readonly two: Throughput;
  readonly takeover: Takeover | null;
  readonly takeoverError: string | null;
}

const baselineOf = (m: Measurements): Throughput => (m.one[0].rate >= m.one[1].rate ? m.one[0] : m.one[1]);
const allChecks = (m: Measurements): Check[] => [
  ...m.one.map((r) => r.check),
  m.two.check,
  ...(m.takeover ? [m.takeover.check] : []),
];

function figuresOf(m: Measurements, args: Args, cpus: number): Figure[] {
  const { two, takeover: t } = m;
  const one = baselineOf(m);
  const v2 = verdict(two, cpus);
  const valid = (c: readonly Check[], done: boolean) =>
    done && c.every(checkOk)
      ? { ok: true, why: '' }
      : { ok: false, why: 'a run lost, duplicated or forked something, or did not finish (see below)' };
  const scale = figure(
    `signals/s end to end, two workers vs one (${two.tenants} tenants, ${n(two.signals)} noop signals)`,
    { label: 'two workers', value: two.rate, unit: 'signals/s' },
    { label: `one worker (${one.label})`, value: one.rate, unit: 'signals/s' },
    TARGETS.scale,
    valid([...m.one.map((r) => r.check), two.check], m.one.every((r) => r.completed) && two.completed),
  );
  const bound = v2.emulatorBound || v2.machineBound;
  const figures: Figure[] = [
    scale.note === null && bound
      ? {
          ...scale,
          note:
            `the target applies where the emulator is not the bottleneck; here ${v2.saturated} limited the ` +
            `run (${v2.emulatorBound ? 'the emulators' : 'the workers'} using the larger part), see below`,
        }
      : scale,
  ];
  const lease = msTarget(args.leaseMs);
  if (t !== null) {
    const tv = valid([t.check], t.all_signals_ms !== null);
    figures.push(
      figure(
        `takeover after SIGKILL: ${t.survivor} logs 'tenant taken over' (${t.chosen}), lease ${n(args.leaseMs)} ms`,
        { label: 'takeover', value: t.chosen_takeover_ms, unit: 'ms' },
        null,
        lease,
        tv,
      ),
      figure(
        `  signal published right after the kill → its action_complete (${t.chosen})`,
        { label: 'signal', value: t.chosen_signal_ms ?? NaN, unit: 'ms' },
        null,
        lease,
        tv,
      ),
      figure(
        `  all ${t.tenants} of ${t.killed}'s tenants taken over`,
        { label: 'takeover', value: t.all_takeover_ms, unit: 'ms' },
        null,
        lease,
        tv,
      ),
      figure(
        `  all ${t.tenants} signals published right after the kill complete`,
        { label: 'signal', value: t.all_signals_ms ?? NaN, unit: 'ms' },
        null,
        lease,
        tv,
      ),
    );
  } else
    figures.push({
      name: 'takeover after SIGKILL',
      measured: null,
      baseline: null,
      ratio: null,
      target: lease,
      status: 'MISS',
      note: m.takeoverError ?? 'not run',
    });
  const checks = allChecks(m);
  const sum = (k: 'forks' | 'lost' | 'duplicates') => checks.reduce((s, c) => s + c[k], 0);
  figures.push(
    figure(
      `forks (chains that fail verifyLines), ${checks.length} checks (each run${t ? ', after the takeover' : ''})`,
      { label: 'forks', value: sum('forks'), unit: '' },
      null,
      TARGETS.zero,
    ),
    figure(
      `lost signals (no action_complete)`,
      { label: 'lost', value: sum('lost'), unit: '' },
      null,
      TARGETS.zero,
    ),
    figure(
      `duplicate receipts (>1 action_complete for a signal)`,
      { label: 'duplicates', value: sum('duplicates'), unit: '' },
      null,
      TARGETS.zero,
    ),
  );
  return figures;
}

function alignedTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => cell.padEnd(widths[c] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const RUN_NAMES: Readonly<Record<string, string>> = {
  'one-before': '1 worker, before',
  two: '2 workers',
  'one-after': '1 worker, after',
};

function phaseTable(m: Measurements, cpus: number): string {
  const row = (r: Throughput) => {
    const v = verdict(r, cpus);
    const perSignal = Object.values(v.perSignal).reduce((a, b) => a + b, 0);
    return [
      `${RUN_NAMES[r.label] ?? r.label} (${Object.entries(r.shares)
        .map(([w, s]) => `${w.replace('worker-', '')}:${s}`)
        .join(' ')})`,
      r.completed ? num(r.rate) : `${num(r.rate)} (${n(r.done)} of ${n(r.signals)})`,
      `${(r.ms / 1000).toFixed(1)} s`,
      r.workers.map((w) => c2(r.cores[w])).join(' + '),
      c2(r.cores.firestore),
      c2(r.cores.pubsub),
      c2(r.cores.gcs),
      c2(r.cores.bench),
      c2(r.cores.other),
      `${c2(r.cores.machine)} / ${cpus}`,
      `${perSignal.toFixed(1)} ms`,
      `${r.check.forks}/${r.check.lost}/${r.check.duplicates}`,
    ];
  };
  return alignedTable(
    [
      'throughput run (tenants held)',
      'signals/s',
      'time',
      'worker cores',
      'firestore',
      'pubsub',
      'gcs',
      'bench',
      'other',
      'machine',
      'CPU/signal',
      'forks/lost/dup',
    ],
    [row(m.one[0]), row(m.two), row(m.one[1])],
  );
}

function checkText(c: Check): string {
  return (
    `${c.chains} chains, ${n(c.receipts)} receipts, ${n(c.signals)} signals: forks ${c.forks} (${c.issues} issues), ` +
    `lost ${c.lost}, duplicates ${c.duplicates}, bad heads ${c.bad_heads}; other receipts ${JSON.stringify(c.other)}` +
    (c.lost > 0 ? `; lost by tenant ${JSON.stringify(c.lost_by_tenant)}` : '') +
    (c.samples.length > 0 ? `; ${c.samples.join('; ')}` : '')
  );
}

const leaseText = (m: Measurements): string => {
  const leases = [...new Set([...m.one, m.two].map((r) => r.lease_ms))];
  return leases.map((l) => (l === null ? '?' : `${n(l)} ms`)).join(', ');
};

const msList = (xs: readonly (number | null)[]): string =>
  xs.map((x) => (x === null ? 'never' : n(x))).join(', ');

function footnotes(m: Measurements, args: Args, cpus: number): string[] {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines: string[] = [];
  const [before, after] = m.one;
  if (Math.max(before.rate, after.rate) > 1.3 * Math.min(before.rate, after.rate))
    lines.push(
      `WARNING: one worker did ${num(before.rate)}/s before and ${num(after.rate)}/s after the two-worker run: the ` +
        `machine was busy with other work (see 'other'); the faster run is the baseline.`,
    );
  const busyOther = [...m.one, m.two].filter((r) => (r.cores.other ?? 0) > 0.3);
  if (busyOther.length > 0)
    lines.push(
      `WARNING: other jobs on the machine used ${busyOther
        .map((r) => `${c2(r.cores.other)} cores during ${RUN_NAMES[r.label] ?? r.label}`)
        .join(', ')}: the figures are lower than on a quiet machine.`,
    );
  for (const r of [before, m.two, after]) {
    const v = verdict(r, cpus);
    lines.push(
      `${RUN_NAMES[r.label] ?? r.label}: project ${r.project}; ${r.tenants} starter tenants provisioned over ` +
        `governor.control by worker-a in ${s(r.provision_ms)}${r.workers.length > 1 ? ', then worker-b started' : ''}, ` +
        `leases balanced ${JSON.stringify(r.shares)} ${s(r.settle_ms)} ` +
        `later; ${n(r.signals)} noop signals published round-robin (≤ ${PUBLISH_WINDOW} in flight, all resolved ` +
        `after ${s(r.publish_ms)}); last action_complete seen durable after ${s(r.ms)} (heads polled every ` +
        `${POLL_MS} ms) → ${num(r.rate)} signals/s` +
        (r.completed
          ? '.'
          : ` over the ${n(r.done)} that completed: the rest never did (no chain grew for ${STALL_MS / 1000} s).`),
      `  limited by ${v.text}`,
      `  check: ${checkText(r.check)}.`,
    );
    const lostLeases = Object.values(r.logProblems).reduce((sum, p) => sum + (p.LEASE_LOST ?? 0), 0);
    if (lostLeases > 0)
      lines.push(
        `  leases changed hands ${lostLeases} times during the run (LEASE_LOST in the worker logs): the new ` +
          `owner reconciled the running actions (action_timeout + action_rolled_back ` +
          `${r.check.other.action_rolled_back ?? 0}); signals left without an action_complete: ${r.check.lost}.`,
      );
    const problems = Object.entries(r.logProblems).filter(([, p]) => Object.keys(p).length > 0);
    if (problems.length > 0)
      lines.push(
        `  worker warn/error log lines: ${problems.map(([w, p]) => `${w} ${JSON.stringify(p)}`).join('; ')}`,
      );
    for (const [w, strays] of Object.entries(r.strays))
      lines.push(
        `  WARNING: once the leases were balanced, ${w}'s log still had it serving ${strays.join(', ')}, leased ` +
          `to another worker (handed over while its provisioning was still running?).`,
      );
    const stops = Object.entries(r.stops).filter(([, how]) => how !== 'exit 0');
    if (stops.length > 0)
      lines.push(`  stop on SIGTERM: ${stops.map(([w, how]) => `${w} ${how}`).join(', ')}`);
  }
  const one = baselineOf(m);
  const ratio = one.rate > 0 ? m.two.rate / one.rate : 0;
  const v2 = verdict(m.two, cpus);
  // What the CPU costs allow, whatever else ran: one worker is at most one JavaScript thread and
  // at most what the cores carry at the one-worker run's costs; two workers, what the cores carry
  // at the two-worker run's costs.
  const v1 = verdict(one, cpus);
  const thread = v1.perSignal.workers ? 1000 / v1.perSignal.workers : null;
  const oneCeiling = thread === null || v1.ceiling === null ? null : Math.min(thread, v1.ceiling);
  const modelled = oneCeiling === null || v2.ceiling === null ? null : v2.ceiling / oneCeiling;
  lines.push(
    `scale-out: two workers ${num(m.two.rate)} vs one ${num(one.rate)} signals/s = ${ratio.toFixed(3)}× (target ` +
      `≥ 1.6× where the emulator is not the bottleneck). The two-worker run was limited by ${v2.saturated}.` +
      (modelled === null
        ? ''
        : ` From the CPU each component spent per signal (other jobs left out): one worker could do at most ` +
          `~${num(oneCeiling ?? 0)}/s (its thread${thread !== null && v1.ceiling !== null && v1.ceiling < thread ? ', capped by the cores' : ''}), ` +
          `two workers at most ~${num(v2.ceiling ?? 0)}/s (the ${cpus} cores, shared with the emulators and ` +
          `this process): ${modelled.toFixed(2)}×, so ${modelled >= 1.6 ? 'the target is within reach of this machine' : 'the target is out of reach on this machine at these costs'}.`),
  );
  const t = m.takeover;
  if (t !== null) {
    const gap = t.all_signals_ms === null ? null : t.all_signals_ms - t.all_takeover_ms;
    lines.push(
      `takeover: project ${t.project}: two workers at GOVERNOR_LEASE_MS=${t.lease_ms}, ${args.tenants} tenants ` +
        `provisioned by worker-a, then worker-b started and the leases balanced, one warm-up signal each; SIGKILL ${t.killed} holding ${t.tenants} tenants ` +
        `(lease ${n(t.lease_ms)} ms, renewed every ${n(Math.min(1_000, Math.floor(t.lease_ms / 3)))} ms); one noop ` +
        `signal published to each right after the kill. ${t.survivor} logged 'tenant taken over' ` +
        `${msList(t.takeover_spread)} ms after the kill (pino time; adopting took ${t.adopt_ms.map(n).join(', ')} ms ` +
        `each; reconciled ${t.reconciled}; previous holder ${t.previous_holders.join(', ')}). The signals' ` +
        `action_complete seen durable (heads polled every ${TAKEOVER_POLL_MS} ms) ${msList(t.signal_spread)} ms ` +
        `after the kill.`,
      `  one more signal per tenant once ${t.survivor} served them all: publish → action_complete ` +
        `${msList(t.after_takeover)} ms.`,
    );
    if (gap !== null && gap > 5_000)
      lines.push(
        `  the signals published right after the kill completed ${s(gap)} after the last takeover, about one ` +
          `Pub/Sub ack deadline (10 s): consistent with the emulator handing them to the killed worker's streaming ` +
          `pulls (it still counts them as open) and redelivering them only when the deadline passed.`,
      );
    lines.push(`  check after the takeover (all chains of the project): ${checkText(t.check)}.`);
    const problems = Object.entries(t.logProblems).filter(([, p]) => Object.keys(p).length > 0);
    if (problems.length > 0)
      lines.push(
        `  worker warn/error log lines: ${problems.map(([w, p]) => `${w} ${JSON.stringify(p)}`).join('; ')}`,
      );
  } else lines.push(`takeover: FAILED: ${m.takeoverError ?? ''}`);
  lines.push(
    `workers: node ${WORKER_MAIN.replace(/.*\/services\//, 'services/')} (built), GOVERNOR_BACKEND=gcp, ` +
      `LOG_LEVEL=info, a data dir per project (one development key); throughput runs at ` +
      `${args.throughputLeaseMs === null ? "the worker's default lease" : `GOVERNOR_LEASE_MS=${args.throughputLeaseMs}`} ` +
      `(${leaseText(m)}), the takeover at GOVERNOR_LEASE_MS=${args.leaseMs}. CPU from ` +
      `/proc over each throughput run: the workers, this process (bench: publishing, polling heads), the ` +
      `emulators' process trees (pids from infra/local/backends.sh status), machine = all CPUs busy, other = ` +
      `the rest (kafka, other jobs).`,
  );
  return lines;
}

function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

// ------------------------------------------------------------------------------------- main ---

/** One throughput run on a fresh project with `count` workers, stopped and dropped whatever happens. */
async function runThroughput(
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

/**
 * The takeover on a fresh project with two workers at `--lease-ms`: tenants provisioned and
 * balanced, one warm-up signal each, then worker-a killed.
 */
async function runTakeover(args: Args, logDir: string): Promise<Takeover> {
  const run = await openRun('takeover', args, args.leaseMs);
  let ok = false;
  try {
    await setUp(run, 2, logDir);
    note('takeover: one warm-up signal per tenant');
    const warm = await publishAndWatch(
      run,
      run.tenants,
      run.tenants.map((t) => signal(t, `warm-up-${t}`)),
    );
    const missing = run.tenants.filter((_, i) => warm[i] === null);
    if (missing.length > 0)
      throw new Error(`the warm-up signals of ${missing.join(', ')} never got their action_complete`);
    const result = { ...(await takeover(run, args)), project: run.p.projectId };
    ok = checkOk(result.check);
    return result;
  } finally {
    // A failed takeover leaves its project on the emulators to look at.
    await closeRun(run, args.keep || !ok);
  }
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!existsSync(WORKER_MAIN))
    throw new Error(`${WORKER_MAIN} is missing: run tsc -b services/worker first`);
  const started = performance.now();
  const addresses = { pubsub: backends.pubsub, firestore: backends.firestore, gcs: backends.gcs };
  await requireBackends(addresses);
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const emulators = emulatorPids(EMULATORS);
  const cpus = coreCount();
  const load0 = loadavg()[0] ?? 0;
  const logDir = await mkdtemp(join(tmpdir(), `governor-bench-scaleout-${runId()}-`));
  note(
    `worker logs in ${logDir}; emulator pids ${JSON.stringify(emulators)}; ${args.tenants} tenants, ` +
      `${n(args.signals)} signals, takeover lease ${args.leaseMs} ms`,
  );
  const meterFor = (workers: () => readonly WorkerProc[]) => new CpuMeter(emulators, workers);
  let failed = false;
  let m: Measurements;
  try {
    const oneBefore = await runThroughput('one-before', 1, args, logDir, meterFor);
    const two = await runThroughput('two', 2, args, logDir, meterFor);
    const oneAfter = await runThroughput('one-after', 1, args, logDir, meterFor);
    let t: Takeover | null = null;
    let takeoverError: string | null = null;
    try {
      t = await runTakeover(args, logDir);
    } catch (e) {
      takeoverError = e instanceof Error ? e.message : String(e);
      note(`takeover failed: ${takeoverError}`);
    }
    m = { one: [oneBefore, oneAfter], two, takeover: t, takeoverError };
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    if (failed) note(`failed; worker logs kept in ${logDir}`);
  }
  const figures = figuresOf(m, args, cpus);
  const context = {
    node: process.version,
    cpus,
    available_parallelism: availableParallelism(),
    cpu_model: cpuInfo()[0]?.model ?? 'unknown',
    load: [load0, loadavg()[0] ?? 0].map((x) => Math.round(x * 100) / 100),
    duration_s: Math.round((performance.now() - started) / 100) / 10,
  };
  const invalid =
    ![...m.one, m.two].every((r) => r.completed) ||
    m.takeover === null ||
    m.takeover.all_signals_ms === null ||
    !allChecks(m).every(checkOk);
  if (invalid || args.keep) note(`worker logs kept in ${logDir}`);
  else await rm(logDir, { recursive: true, force: true });
  note(`done in ${context.duration_s} s`);
  if (args.json) {
    const json = {
      ...context,
      args,
      pass: figures.every((f) => f.status !== 'MISS'),
      valid: !invalid,
      bottleneck: Object.fromEntries([...m.one, m.two].map((r) => [r.label, verdict(r, cpus)])),
      figures,
      details: m,
    };
    process.stdout.write(`${JSON.stringify(json, roundNumbers, 2)}\n`);
  } else {
    process.stdout.write(
      `scale-out bench${args.quick ? ' (--quick)' : ''}: built worker processes on the local emulators, ` +
        `${args.tenants} starter tenants and ${n(args.signals)} noop signals per run (lease ${leaseText(m)}), ` +
        `takeover at lease ${n(args.leaseMs)} ms; ` +
        `node ${context.node}, ${cpus} CPUs (${context.cpu_model}) shared by the workers, this process and the ` +
        `emulators; load ${context.load.join(' → ')}; ${context.duration_s} s\n\n` +
        `${phaseTable(m, cpus)}\n\n${renderTable(figures)}\n\n${footnotes(m, args, cpus).join('\n')}\n`,
    );
  }
  if (invalid) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof BackendsDown || e instanceof UsageError)
    process.stderr.write(`bench:scaleout: ${e.message}\n`);
  else process.stderr.write(`bench:scaleout: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  killAll();
  process.exitCode = 1;
});
