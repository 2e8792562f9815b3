import { join } from 'node:path';
import { tenantChain } from '@governor/contracts';
import { backends } from '../../support/backends';
import { gcpProject } from '../../support/gcp-project';
import { entitlement } from '../../support/worker-fixtures';
import { sleep } from '../e2e-support';
import { accountId, type Args } from './args';
import { note, WORKER_MAIN, WorkerProc } from './worker';

/**
 * A run's project on the emulators: opened fresh, its workers started, its tenants provisioned
 * and their leases balanced; torn down after.
 */

type Project = Awaited<ReturnType<typeof gcpProject>>;

/** One phase's emulator state: a project, its bucket and data dir; its workers. */
export interface Run {
  readonly label: string;
  readonly p: Project;
  readonly tenants: readonly string[];
  readonly workers: WorkerProc[];
  /** Signal ids published per tenant, for the checks. */
  readonly published: Map<string, string[]>;
}

/** A fresh project; `leaseMs` null leaves GOVERNOR_LEASE_MS to the worker's default. */
export async function openRun(label: string, args: Args, leaseMs: number | null): Promise<Run> {
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

export interface SetUp {
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
export async function setUp(run: Run, count: number, logDir: string): Promise<SetUp> {
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
export async function closeRun(run: Run, keep: boolean): Promise<Record<string, string>> {
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

export async function headSizes(run: Run, tenants: readonly string[]): Promise<number[]> {
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

export interface Balance {
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
export async function balanced(run: Run, timeoutMs = 60_000): Promise<Balance> {
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
