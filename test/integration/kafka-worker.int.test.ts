import { execFileSync, spawn } from 'node:child_process';
import { appendFileSync, closeSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { KafkaAdapterError, KafkaBus } from '@governor/adapters-kafka';
import { actionIdOf } from '@governor/governor';
import { backends, uniqueName } from '../support/backends';
import { gcpProject, waitUntil } from '../support/gcp-project';
import { entitlement, signal } from '../support/worker-fixtures';
import { startWorker, type WorkerProcess } from '../support/worker-process';

// Worker processes with their tenant signals on Kafka (GOVERNOR_SIGNALS=kafka) and everything
// else on the emulators: consumers joining and leaving mid-stream as tenants move between
// workers, and the broker restarted mid-stream. Every signal must have exactly one
// action_complete: lost = 0, duplicate receipts = 0. Short leases so hand-overs happen quickly.
jest.setTimeout(150_000);

const LEASE_MS = 2_000;

const admin: Admin = new Kafka({
  clientId: 'kafka-worker-test',
  brokers: [...backends.kafka],
  logLevel: logLevel.NOTHING,
}).admin();
beforeAll(() => admin.connect());
afterAll(() => admin.disconnect());

/**
 * Publishes one signal per tenant per round onto Kafka, as the ingress would, until told to
 * finish. A publish that fails retryably (the broker is away) is tried again, as a real
 * publisher would; each signal is counted once, when the broker has taken it.
 */
class Stream {
  /** Per tenant, the signal ids the broker acknowledged. */
  readonly published = new Map<string, string[]>();
  rounds = 0;
  /** Publish attempts that failed and were tried again. */
  failedAttempts = 0;
  /** When each publish attempt started and ended. */
  readonly attempts: Array<{ from: number; to: number }> = [];
  /** The longest a signal took to publish, retries included. */
  slowestMs = 0;
  private finishAt: number | null = null;
  readonly done: Promise<void>;

  constructor(
    private readonly bus: KafkaBus,
    private readonly tenants: readonly string[],
    /** Pause between rounds (one signal per tenant per round, published concurrently). */
    private readonly pauseMs: number,
  ) {
    for (const t of tenants) this.published.set(t, []);
    this.done = this.run();
    // Observed through `done`; never an unhandled rejection meanwhile.
    this.done.catch(() => undefined);
  }

  /** Publishes `more` rounds after the current one, then stops. */
  finishAfter(more: number): Promise<void> {
    this.finishAt = this.rounds + more;
    return this.done;
  }

  reached(round: number): Promise<boolean> {
    return waitUntil(`publishing round ${round}`, () => this.rounds >= round, 60_000);
  }

  get total(): number {
    return [...this.published.values()].reduce((n, ids) => n + ids.length, 0);
  }

  private async run(): Promise<void> {
    const deadline = Date.now() + 120_000;
    while (this.finishAt === null || this.rounds < this.finishAt) {
      if (Date.now() > deadline) throw new Error(`the stream never finished (round ${this.rounds})`);
      const round = this.rounds;
      await Promise.all(
        this.tenants.map(async (t) => {
          const id = `${t}-s${round}`;
          await this.publish(signal(t, id), deadline);
          this.published.get(t)?.push(id);
        }),
      );
      this.rounds += 1;
      await sleep(this.pauseMs);
    }
  }

  private async publish(s: ReturnType<typeof signal>, deadline: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const attempt = { from: Date.now(), to: Infinity };
      this.attempts.push(attempt);
      try {
        await this.bus.publish(s);
        attempt.to = Date.now();
        this.slowestMs = Math.max(this.slowestMs, attempt.to - started);
        return;
      } catch (e) {
        attempt.to = Date.now();
        if (!(e instanceof KafkaAdapterError) || !e.retryable || Date.now() > deadline) throw e;
        this.failedAttempts += 1;
        await sleep(250);
      }
    }
  }

  /** Whether a publish attempt was under way at some point between `from` and `to`. */
  publishingBetween(from: number, to: number): boolean {
    return this.attempts.some((a) => a.from <= to && a.to >= from);
  }
}

const count = (text: string, what: string) => text.split(what).length - 1;

/** Receipts per signal: every published signal once as action_complete, nothing twice, nothing else. */
async function tally(
  p: Awaited<ReturnType<typeof gcpProject>>,
  published: ReadonlyMap<string, readonly string[]>,
) {
  const lostIds: string[] = [];
  let duplicates = 0;
  const other: string[] = [];
  for (const [tenant, ids] of published) {
    const counts = new Map<string, number>();
    for (const b of await p.bodies(`tenants/${tenant}`)) {
      if (typeof b.signal_id !== 'string') continue;
      const key = `${b.operation} ${b.signal_id}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (b.operation !== 'action_complete') other.push(key);
    }
    for (const n of counts.values()) duplicates += n - 1;
    lostIds.push(...ids.filter((id) => !counts.has(`action_complete ${id}`)));
  }
  return { lost: lostIds.length, duplicates, other, lostIds };
}

/** How many action_complete receipts the tenants' chains hold. */
async function completed(
  p: Awaited<ReturnType<typeof gcpProject>>,
  tenants: readonly string[],
): Promise<number> {
  let n = 0;
  for (const t of tenants)
    n += (await p.bodies(`tenants/${t}`)).filter((b) => b.operation === 'action_complete').length;
  return n;
}

/**
 * Waits (bounded) until every published signal of every tenant has its action_complete. If not,
 * the failure says, per missing signal, what its action's receipts are (none, or a timeout and a
 * rollback), and what the workers alerted (a lease lost, a chain fenced, a spool left behind).
 */
async function allCompleted(
  p: Awaited<ReturnType<typeof gcpProject>>,
  published: ReadonlyMap<string, readonly string[]>,
  workers: readonly WorkerProcess[],
): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const t = await tally(p, published);
    if (t.lost === 0) return;
    if (Date.now() > deadline) {
      const missing: string[] = [];
      for (const id of t.lostIds.slice(0, 10)) {
        const tenant = id.slice(0, id.lastIndexOf('-s'));
        const ops = (await p.bodies(`tenants/${tenant}`))
          .filter((b) => b.action_id === actionIdOf(id))
          .map((b) => b.operation);
        missing.push(`${id}: ${ops.length > 0 ? ops.join(', ') : 'no receipt'}`);
      }
      const alerts = workers.flatMap((w, i) =>
        w.lines
          .filter((l) => typeof l.alert === 'string' || l.msg === 'tenant taken over')
          .map((l) => `worker ${i}: ${JSON.stringify([l.alert ?? l.msg, l.account_id])}`),
      );
      throw new Error(
        `${t.lost} signals never completed within 60 s (${missing.join('; ')}${t.lost > 10 ? '; ...' : ''}); ${t.duplicates} duplicate receipts; alerts and takeovers: ${alerts.join(', ') || 'none'}`,
      );
    }
    await sleep(250);
  }
}

// --- the broker, restarted with its data (infra/local/backends.sh up would start a fresh one) ---

const STATE_DIR = process.env.GOVERNOR_LOCAL_STATE ?? join(__dirname, '..', '..', '.local');
const PID_FILE = join(STATE_DIR, 'run', 'kafka.pid');
const LOG_FILE = join(STATE_DIR, 'logs', 'kafka.log');

/** Live (not zombie) members of a process group. */
function groupMembers(pgid: number): number[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-g', String(pgid)], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when the group is empty
  }
  return out
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((pid) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
      } catch {
        return false;
      }
    });
}

/** The broker that infra/local/backends.sh started: its process group, command line and environment. */
function brokerProcess() {
  const pgid = Number(readFileSync(PID_FILE, 'utf8').trim());
  for (const pid of groupMembers(pgid)) {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
    if (!argv.includes('kafka.Kafka')) continue;
    const env = Object.fromEntries(
      readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .filter((kv) => kv.includes('='))
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    return {
      pgid,
      argv,
      env,
      cwd: execFileSync('readlink', [`/proc/${pid}/cwd`], { encoding: 'utf8' }).trim(),
    };
  }
  throw new Error(
    `no Kafka broker in process group ${pgid} (${PID_FILE}): bash infra/local/backends.sh up kafka`,
  );
}

/**
 * Restarts the local broker keeping its data: `backends.sh down kafka && up kafka` would not do,
 * because `up` formats a fresh broker (topics, offsets and groups gone). Stops the broker's
 * process group as `down` does (TERM, then KILL after a grace period), starts the same command
 * line in a process group of its own with its log appended to, records it in the pid file the
 * script reads, and waits until it logs that it started, as `up` does.
 */
async function restartBroker(): Promise<{ stoppedAt: number; goneAt: number; readyAt: number }> {
  const broker = brokerProcess();
  const stoppedAt = Date.now();
  process.kill(-broker.pgid, 'SIGTERM');
  try {
    await waitUntil('the broker to stop', () => groupMembers(broker.pgid).length === 0, 20_000);
  } catch {
    process.kill(-broker.pgid, 'SIGKILL');
    await waitUntil('the broker to be killed', () => groupMembers(broker.pgid).length === 0, 5_000);
  }
  const goneAt = Date.now();
  const from = statSync(LOG_FILE).size;
  appendFileSync(
    LOG_FILE,
    '== kafka.Kafka restarted with its data by test/integration/kafka-worker.int.test.ts ==\n',
  );
  const log = openSync(LOG_FILE, 'a');
  const child = spawn(broker.argv[0] as string, broker.argv.slice(1), {
    cwd: broker.cwd,
    env: broker.env,
    detached: true,
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  child.unref();
  writeFileSync(PID_FILE, `${String(child.pid)}\n`);
  try {
    await waitUntil(
      'the restarted broker to log "Kafka Server started"',
      () => readFileSync(LOG_FILE, 'utf8').slice(from).includes('Kafka Server started'),
      90_000,
    );
  } catch (e) {
    // Leave a broker up for whatever runs next, if a fresh one.
    execFileSync('bash', [join(__dirname, '..', '..', 'infra', 'local', 'backends.sh'), 'up', 'kafka'], {
      stdio: 'ignore',
      timeout: 120_000,
    });
    throw e;
  }
  return { stoppedAt, goneAt, readyAt: Date.now() };
}

describe('Kafka signals: worker processes on the emulators and the local broker', () => {
  let p: Awaited<ReturnType<typeof gcpProject>>;
  let namespace: string;
  let publisher: KafkaBus;
  const workers: WorkerProcess[] = [];

  const start = async (id: string) => {
    const w = startWorker({ ...p.env, GOVERNOR_WORKER_ID: id });
    workers.push(w);
    await w.waitFor(/worker ready/);
    return w;
  };
  const provision = async (tenants: readonly string[]) => {
    for (const t of tenants) await p.stores.control.publish(entitlement(t, 'starter', 'governor-starter'));
    for (const t of tenants)
      await p.until('entitlement_active', `tenants/${t}`, (x) =>
        x.some((r) => r.operation === 'entitlement_active'),
      );
  };
  /** Live lease holders by tenant. */
  const holders = async () =>
    new Map(
      (await p.stores.leases.list())
        .filter((l) => l.expires_at > Date.now())
        .map((l) => [l.account_id, l.holder]),
    );
  /** Members of each tenant's consumer group, by the client id of the worker they belong to. */
  const groupMembersOf = async (tenants: readonly string[]) => {
    const { groups } = await admin.describeGroups(tenants.map((t) => publisher.groupId(t)));
    return new Map(
      tenants.map((t) => [
        t,
        (groups.find((g) => g.groupId === publisher.groupId(t))?.members ?? []).map((m) => m.clientId).sort(),
      ]),
    );
  };
  /**
   * The lease holders, once every tenant is held by a worker `expected` accepts and its consumer
   * group has exactly one member, the holder's consumer (the worker's Kafka client id is
   * `governor-{worker_id}`); null until then.
   */
  const ownedAndConsumed = async (tenants: readonly string[], expected: (holder?: string) => boolean) => {
    const h = await holders();
    if (!tenants.every((t) => expected(h.get(t)))) return null;
    const members = await groupMembersOf(tenants);
    return tenants.every((t) => {
      const m = members.get(t) ?? [];
      return m.length === 1 && m[0] === `governor-${h.get(t) ?? ''}`;
    })
      ? h
      : null;
  };

  beforeEach(async () => {
    namespace = uniqueName('kworker');
    p = await gcpProject('kworker', {
      GOVERNOR_SIGNALS: 'kafka',
      KAFKA_BROKERS: backends.kafka.join(','),
      GOVERNOR_KAFKA_NAMESPACE: namespace,
      GOVERNOR_LEASE_MS: String(LEASE_MS),
      GOVERNOR_DRAIN_TIMEOUT_MS: '2000',
    });
    publisher = new KafkaBus({
      brokers: [...backends.kafka],
      namespace,
      clientId: 'kafka-worker-test',
      log: () => undefined,
    });
  });

  afterEach(async () => {
    // KAFKA_WORKER_DUMP=/tmp/kw: each worker's stderr (the Kafka adapter's log) and log lines go
    // to /tmp/kw-0.log, ... for a post-mortem.
    const dump = process.env.KAFKA_WORKER_DUMP;
    if (dump)
      for (const [i, w] of workers.entries())
        writeFileSync(
          `${dump}-${i}.log`,
          `${w.stderr()}\n----\n${w.lines.map((l) => JSON.stringify(l)).join('\n')}\n`,
        );
    for (const w of workers.splice(0)) await w.stop('SIGKILL');
    await publisher.close();
    await p.cleanup();
    // The namespace's topics and groups go too (the broker is shared by every test run).
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`));
    if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
    const { groups } = await admin.listGroups();
    const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(`${namespace}.`));
    if (mine.length > 0) await admin.deleteGroups(mine).catch(() => undefined);
  });

  it('a consumer joining and leaving mid-stream: tenants move with their consumers; lost = 0, duplicate receipts = 0, chains verify', async () => {
    const tenants = ['k-alpha', 'k-bravo', 'k-charlie', 'k-delta'];
    const a = await start('worker-a');
    await provision(tenants);
    await waitUntil('worker-a holding and consuming all four', () =>
      ownedAndConsumed(tenants, (holder) => holder === 'worker-a'),
    );

    const stream = new Stream(publisher, tenants, 150);
    await stream.reached(5);
    // Worker B joins: worker A hands over half the tenants, whose consumers leave their groups,
    // and worker B's consumers join them and carry on from the committed offsets.
    const b = await start('worker-b');
    const shared = await waitUntil('a balanced share, each tenant consumed by its holder only', () =>
      ownedAndConsumed(tenants, (holder) => holder === 'worker-a' || holder === 'worker-b').then((h) =>
        h && [...h.values()].filter((w) => w === 'worker-b').length === 2 ? h : null,
      ),
    );
    expect([...shared.values()].sort()).toEqual(['worker-a', 'worker-a', 'worker-b', 'worker-b']);
    const joinedAt = stream.rounds;

    // Worker A leaves (SIGTERM): its consumers commit what was acked and leave; B takes over.
    await stream.reached(joinedAt + 5);
    expect(await a.stop('SIGTERM')).toBe(0);
    await waitUntil('worker-b holding and consuming all four', () =>
      ownedAndConsumed(tenants, (holder) => holder === 'worker-b'),
    );
    const leftAt = stream.rounds;
    await stream.finishAfter(10);
    // Both moves happened mid-stream: signals were published before, between and after them.
    expect(joinedAt).toBeGreaterThan(0);
    expect(leftAt).toBeGreaterThan(joinedAt);
    expect(stream.rounds).toBeGreaterThan(leftAt);

    await allCompleted(p, stream.published, workers);
    // Longer than a redelivery (200 ms) and a fetch poll (500 ms): a signal that came back is seen.
    await sleep(1_500);
    expect(await tally(p, stream.published)).toMatchObject({ lost: 0, duplicates: 0, other: [] });
    for (const t of tenants) expect(await p.verify(`tenants/${t}`)).toMatchObject({ ok: true, issues: [] });
    expect(b.lines.filter((l) => l.msg === 'tenant taken over').length).toBeGreaterThanOrEqual(4);
    process.stdout.write(
      `kafka-worker: ${stream.total} signals; worker-b joined at round ${joinedAt}, worker-a left at round ${leftAt} of ${stream.rounds}\n`,
    );
  });

  it('a broker restart mid-stream: the publisher retries, the worker carries on; lost = 0, duplicate receipts = 0', async () => {
    const tenants = ['k-echo', 'k-foxtrot', 'k-golf'];
    const a = await start('worker-a');
    await provision(tenants);
    await waitUntil('worker-a consuming all three', () =>
      ownedAndConsumed(tenants, (holder) => holder === 'worker-a'),
    );

    // Faster than the worker keeps up with, so it has a backlog in hand when the broker goes.
    const stream = new Stream(publisher, tenants, 10);
    await stream.reached(50);
    const restartedAt = stream.rounds;
    const completedThen = await completed(p, tenants);
    const backlog = stream.total - completedThen;
    const { stoppedAt, goneAt, readyAt } = await restartBroker();
    const backAt = stream.rounds;
    await stream.finishAfter(30);
    // Signals were published before the restart, while no broker was running (an attempt then
    // either failed and was retried, or waited for the broker), and after it was back.
    expect(restartedAt).toBeGreaterThan(0);
    expect(stream.publishingBetween(goneAt, readyAt)).toBe(true);
    expect(stream.rounds).toBeGreaterThan(backAt);

    await allCompleted(p, stream.published, workers);
    await sleep(1_500);
    expect(await tally(p, stream.published)).toMatchObject({ lost: 0, duplicates: 0, other: [] });
    for (const t of tenants) expect(await p.verify(`tenants/${t}`)).toMatchObject({ ok: true, issues: [] });
    // The worker never gave its tenants up, and consumes them again.
    expect(a.child.exitCode).toBeNull();
    await waitUntil('worker-a consuming all three again', () =>
      ownedAndConsumed(tenants, (holder) => holder === 'worker-a'),
    );
    process.stdout.write(
      `kafka-worker: ${stream.total} signals; ${count(a.stderr(), 'kafkajs restarts it')} consumer crashes restarted by kafkajs, ${count(a.stderr(), 'joining the group again (')} rejoined by the adapter; broker restarted at round ${restartedAt} with ${backlog} not yet completed (stop to started: ${readyAt - stoppedAt} ms, broker away for ${readyAt - goneAt} ms), back at round ${backAt} of ${stream.rounds}; ${stream.failedAttempts} publish attempts retried, slowest publish ${stream.slowestMs} ms\n`,
    );
  });
});
