import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadEdgeSecrets, parseSecrets, tokenFor, webhookHeaders } from '@governor/ingress';
import autocannon from 'autocannon';
import { n, sleep, spread, type Spread } from './e2e-support';
import { figure, num, renderTable, skipped, type Figure, type Target } from './report';
import { alignedTable } from './support/table';

/**
 * `pnpm bench:ingress [--quick] [--seconds 5] [--connections 10] [--tenants 10] [--provisions 200]
 *  [--in-flight 10] [--grace 120] [--keep] [--json] [--cpu-prof DIR]`
 *
 * The HTTP edge (`governor start`: ingress + worker in one process, embedded default) under
 * load from autocannon, each figure beside a bare fastify route measured in the same run. The
 * load generator runs in this process; every server runs in a child process of its own
 * (`node test/dist/bench/ingress-bare.js`, `node services/cli/dist/main.js start`), so the two
 * sides do not share a thread. Figures:
 *   1. the bare route: requests/s of a POST with a small JSON body (the baseline; measured before
 *      and after the governor, the faster counts);
 *   2. verified-webhook rejection: POST /v1/webhooks/marketplace with the right headers and a
 *      wrong signature, every answer must be 401 BAD_SIGNATURE: requests/s, ratio to (1);
 *   3. signal submission: POST /v1/tenants/{id}/signals (noop) round-robin over starter tenants:
 *      202s/s (429 QUEUE_FULL counted apart), ratio to (1); then every accepted signal must get
 *      its receipt (read back over GET /v1/tenants/{id}/receipts) within the grace period;
 *   4. webhook → entitlement_active latency of `--provisions` entitlement.created webhooks,
 *      `--in-flight` at a time, from send to the 200 (answered once the receipt is durable);
 *   5. the same as (4) on `start --backend gcp` against the emulators, when PUBSUB_EMULATOR_HOST,
 *      FIRESTORE_EMULATOR_HOST and STORAGE_EMULATOR_HOST are set (a project and bucket per run).
 * --quick: 2 s runs. --keep: keep the data folders, the child logs and the emulator project.
 * --cpu-prof DIR: the embedded governor child writes a V8 CPU profile there when it stops.
 * The table (or with --json, one JSON object) goes to stdout, progress to stderr. Exits 1 when a
 * run did not do what it should (an unexpected status, a signal without its receipt, a failed
 * provisioning); a MISS against a target is reported, not an error.
 */

const TARGETS = {
  signals: { op: '>=', value: 0.5, unit: '×', onRatio: true },
  embedded: { op: '<', value: 200, unit: 'ms', onRatio: false },
  emulators: { op: '<', value: 2000, unit: 'ms', onRatio: false },
} as const satisfies Record<string, Target>;

const REPO = join(__dirname, '..', '..', '..');
const CLI = join(REPO, 'services', 'cli', 'dist', 'main.js');
const BARE = join(__dirname, 'ingress-bare.js');
const SIGNAL_BODY = JSON.stringify({ type: 'action', action_kind: 'noop' });
/** The starter plan's monthly action quota, as the repo's policy says. */
const STARTER_QUOTA = (
  JSON.parse(readFileSync(join(REPO, 'policies', 'starter', '1.0.0.json'), 'utf8')) as {
    quotas: { monthly_actions: number };
  }
).quotas.monthly_actions;
const EMULATOR_VARS = ['PUBSUB_EMULATOR_HOST', 'FIRESTORE_EMULATOR_HOST', 'STORAGE_EMULATOR_HOST'] as const;

function note(message: string): void {
  process.stderr.write(`[bench:ingress] ${message}\n`);
}

class UsageError extends Error {}

// ------------------------------------------------------------------------------------ args ---

interface Args {
  readonly seconds: number;
  readonly warmup: number;
  readonly connections: number;
  readonly tenants: number;
  readonly provisions: number;
  readonly inFlight: number;
  readonly graceS: number;
  readonly quick: boolean;
  readonly keep: boolean;
  readonly json: boolean;
  /** Where the embedded governor child writes a V8 CPU profile (node --cpu-prof), or null. */
  readonly cpuProf: string | null;
}

const USAGE =
  'usage: ingress.bench [--quick] [--seconds S] [--connections N] [--tenants N] [--provisions N] ' +
  '[--in-flight N] [--grace S] [--keep] [--json] [--cpu-prof DIR]';

function parse(argv: readonly string[]): Args {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      quick: { type: 'boolean', default: false },
      seconds: { type: 'string' },
      connections: { type: 'string' },
      tenants: { type: 'string' },
      provisions: { type: 'string' },
      'in-flight': { type: 'string' },
      grace: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const positive = (name: string, text: string | undefined, fallback: number, integer = true): number => {
    if (text === undefined) return fallback;
    const v = Number(text);
    if (!(v > 0) || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)))
      throw new UsageError(
        `--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${text}"\n${USAGE}`,
      );
    return v;
  };
  const quick = values.quick;
  const seconds = positive('seconds', values.seconds, quick ? 2 : 5, false);
  const tenants = positive('tenants', values.tenants, 10);
  if (tenants > 9999) throw new UsageError(`--tenants must be at most 9999\n${USAGE}`);
  return {
    seconds,
    warmup: Math.min(1, seconds / 4),
    connections: positive('connections', values.connections, 10),
    tenants,
    provisions: positive('provisions', values.provisions, 200),
    inFlight: positive('in-flight', values['in-flight'], 10),
    graceS: positive('grace', values.grace, 120, false),
    quick,
    keep: values.keep,
    json: values.json,
    cpuProf: values['cpu-prof'] === undefined ? null : resolve(values['cpu-prof']),
  };
}

// -------------------------------------------------------------------------- child processes ---

/** Every child still running; killed when this process ends, however it ends. */
const live = new Set<ChildProcess>();

function killAll(): void {
  for (const proc of live) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
}

process.on('exit', killAll);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const)
  process.on(signal, () => {
    note(`${signal}: killing the child processes`);
    killAll();
    process.exit(130);
  });

interface Child {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly logFile: string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs: number): Promise<string>;
}

function tail(file: string, chars = 1500): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars).trim();
  } catch {
    return '';
  }
}

/** Starts `node ARGS` with stderr to `logFile` and resolves once it prints `url http://...`. */
async function spawnChild(
  name: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  logFile: string,
  timeoutMs: number,
): Promise<Child> {
  const errFd = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [...args], { env, stdio: ['pipe', 'pipe', errFd] });
  closeSync(errFd);
  live.add(proc);
  const exited = new Promise<string>((resolve) =>
    proc.on('exit', (code, signal) => {
      live.delete(proc);
      resolve(signal ? `killed by ${signal}` : `exit ${String(code)}`);
    }),
  );
  let out = '';
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} printed no url within ${timeoutMs / 1000} s: ${tail(logFile)}`)),
        timeoutMs,
      );
      proc.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const m = /url\s+(http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      proc.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      void exited.then((how) => {
        clearTimeout(timer);
        reject(new Error(`${name} ended (${how}) before printing its url: ${tail(logFile)}`));
      });
    });
    return {
      name,
      pid: proc.pid as number,
      url,
      logFile,
      async stop(graceMs) {
        if (proc.exitCode !== null || proc.signalCode !== null) return exited;
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
        const how = await exited;
        clearTimeout(timer);
        return how;
      },
    };
  } catch (e) {
    proc.kill('SIGKILL');
    await exited;
    throw e;
  }
}

// --------------------------------------------------------------------------------- CPU use ---

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU time of a process (user + system) in ms, from /proc; null where there is none. */
function procCpuMs(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return null;
  }
}

interface Cores {
  /** CPU cores the server child kept busy, on average. */
  readonly server: number | null;
  /** CPU cores this process (the load generator) kept busy. */
  readonly loadgen: number;
}

function cpuMeter(pid: number): () => Cores {
  const t0 = performance.now();
  const s0 = procCpuMs(pid);
  const u0 = process.cpuUsage();
  return () => {
    const wall = performance.now() - t0;
    const s1 = procCpuMs(pid);
    const u = process.cpuUsage(u0);
    return {
      server: s0 === null || s1 === null ? null : (s1 - s0) / wall,
      loadgen: (u.user + u.system) / 1000 / wall,
    };
  };
}

// ------------------------------------------------------------------------------------ load ---

interface LoadResult {
  readonly label: string;
  readonly seconds: number;
  readonly responses: number;
  /** Responses per second, all statuses. */
  readonly rate: number;
  /** Answers by status, as this bench classified them. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: number;
  readonly timeouts: number;
  readonly latency: { readonly p50: number; readonly p99: number; readonly max: number };
  readonly cores: Cores;
  /** Answers the phase did not expect (status and the start of the body), a few. */
  readonly unexpected: readonly string[];
}

/** What each phase does with an answer: a class name to count it under, or null when unexpected. */
type Classify = (status: number, body: string) => string | null;

async function load(
  label: string,
  url: string,
  requests: readonly Omit<autocannon.Request, 'onResponse'>[],
  seconds: number,
  connections: number,
  serverPid: number,
  classify: Classify,
): Promise<LoadResult> {
  const statuses: Record<string, number> = {};
  const unexpected: string[] = [];
  let responses = 0;
  const onResponse = (status: number, body: string) => {
    responses += 1;
    const kind = classify(status, body) ?? `unexpected ${status}`;
    statuses[kind] = (statuses[kind] ?? 0) + 1;
    if (kind.startsWith('unexpected') && unexpected.length < 5)
      unexpected.push(`${status} ${body.slice(0, 200)}`);
  };
  const meter = cpuMeter(serverPid);
  const result = await autocannon({
    url,
    connections,
    duration: seconds,
    requests: requests.map((r) => ({ ...r, onResponse })),
  });
  const cores = meter();
  return {
    label,
    seconds: result.duration,
    responses,
    rate: result.duration > 0 ? responses / result.duration : 0,
    statuses,
    errors: result.errors,
    timeouts: result.timeouts,
    latency: { p50: result.latency.p50, p99: result.latency.p99, max: result.latency.max },
    cores,
    unexpected,
  };
}

function loadProblems(r: LoadResult): string[] {
  const out: string[] = [];
  const bad = Object.entries(r.statuses).filter(([k]) => k.startsWith('unexpected'));
  if (bad.length > 0)
    out.push(
      `${r.label}: unexpected answers ${JSON.stringify(Object.fromEntries(bad))} (${r.unexpected.join(' | ')})`,
    );
  if (r.errors > 0) out.push(`${r.label}: ${r.errors} connection errors (${r.timeouts} timeouts)`);
  if (r.responses === 0) out.push(`${r.label}: no answers at all`);
  return out;
}

// ---------------------------------------------------------------------------- the governor ---

interface Governor {
  readonly child: Child;
  readonly dataDir: string;
  readonly webhookSecret: Buffer;
  readonly token: string;
}

async function startGovernorChild(
  name: string,
  backend: 'local' | 'gcp',
  dataDir: string,
  extraEnv: NodeJS.ProcessEnv,
  nodeArgs: readonly string[] = [],
): Promise<Governor> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run tsc -b services/cli first`);
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...extraEnv };
  // The development secrets of the data folder, not whatever this shell has configured.
  for (const key of [
    'GOVERNOR_WEBHOOK_SECRETS',
    'GOVERNOR_POLICY_SECRETS',
    'GOVERNOR_API_TOKENS',
    'GOVERNOR_BACKEND',
    'GOVERNOR_DATA_DIR',
    'PORT',
  ])
    delete env[key];
  const child = await spawnChild(
    name,
    [
      ...nodeArgs,
      CLI,
      'start',
      '--backend',
      backend,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      dataDir,
    ],
    env,
    join(dataDir, '..', `${name}.log`),
    backend === 'gcp' ? 120_000 : 60_000,
  );
  const secrets = await loadEdgeSecrets({}, dataDir, { create: false });
  const token = tokenFor(secrets, 'operator');
  if (token === null) throw new Error(`${secrets.devFile ?? dataDir}: no operator or admin token`);
  return {
    child,
    dataDir,
    webhookSecret: parseSecrets(secrets.webhookSecrets, 'webhook_secrets')[0] as Buffer,
    token,
  };
}

function entitlement(account: string): string {
  return JSON.stringify({
    type: 'entitlement.created',
    entitlement_id: `ent-${account}`,
    account_id: account,
    sku_id: 'governor-starter',
    plan_type: 'starter',
    region: 'us-central1',
    occurred_at: new Date().toISOString(),
  });
}

let webhookSequence = 0;

/** Sends one signed entitlement.created; resolves with the status, the answer and the time to it. */
async function provision(
  g: Governor,
  account: string,
): Promise<{ status: number; body: string; ms: number }> {
  const body = entitlement(account);
  const id = `msg_bench_${process.pid}_${++webhookSequence}`;
  const headers = {
    'content-type': 'application/json',
    ...webhookHeaders(g.webhookSecret, id, Math.round(Date.now() / 1000), body),
  };
  const t0 = performance.now();
  const res = await fetch(`${g.child.url}/v1/webhooks/marketplace`, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, body: text, ms: performance.now() - t0 };
}

/** The entitlement_active receipt of a 200 answer to entitlement.created, or null for any other answer. */
function activeReceipt(answer: { status: number; body: string }): { duration_ms: number } | null {
  if (answer.status !== 200) return null;
  try {
    const json = JSON.parse(answer.body) as {
      operation?: string;
      receipt?: { operation?: string; duration_ms?: number } | null;
    };
    const receipt = json.receipt;
    return json.operation === 'entitlement_active' && receipt?.operation === 'entitlement_active'
      ? { duration_ms: receipt.duration_ms ?? 0 }
      : null;
  } catch {
    return null;
  }
}

interface LatencyResult {
  readonly provisions: number;
  readonly inFlight: number;
  readonly ok: number;
  readonly latency: Spread;
  /** The receipts' own duration_ms: the runtime's provisioning steps, before the receipt is made durable. */
  readonly governor: Spread;
  readonly seconds: number;
  readonly failures: readonly string[];
  readonly cores: Cores;
}

/** `accounts.length` provisions, `inFlight` at a time, each timed from send to its 200. */
async function provisionLatency(
  g: Governor,
  accounts: readonly string[],
  inFlight: number,
): Promise<LatencyResult> {
  const times: number[] = [];
  const governor: number[] = [];
  const failures: string[] = [];
  let next = 0;
  const meter = cpuMeter(g.child.pid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(inFlight, accounts.length) }, async () => {
      while (next < accounts.length) {
        const account = accounts[next++] as string;
        try {
          const answer = await provision(g, account);
          const receipt = activeReceipt(answer);
          if (receipt !== null) {
            times.push(answer.ms);
            governor.push(receipt.duration_ms);
          } else failures.push(`${account}: ${answer.status} ${answer.body.slice(0, 200)}`);
        } catch (e) {
          failures.push(`${account}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return {
    provisions: accounts.length,
    inFlight,
    ok: times.length,
    latency: spread(times),
    governor: spread(governor),
    seconds,
    failures,
    cores: meter(),
  };
}

const accountIds = (prefix: string, count: number): string[] =>
  Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(4, '0')}`);

// ------------------------------------------------------------------------ receipts read back ---

interface ReceiptCheck {
  readonly accepted: number;
  /** Accepted signals with an action_complete receipt. */
  readonly complete: number;
  /** Accepted signals refused by the governor (action_refused, e.g. quota_exhausted), by reason. */
  readonly refused: Readonly<Record<string, number>>;
  /** Accepted signals with no receipt when the grace period ended. */
  readonly lost: number;
  /** Signals with more than one action receipt. */
  readonly duplicates: number;
  /** Receipts for signals this bench never saw a 202 for (answers cut off when the load stopped). */
  readonly unseen: number;
  /** Other action receipts (action_failed, action_timeout, ...), which carry no signal_id. */
  readonly other: Readonly<Record<string, number>>;
  /** From the end of the load to the last accepted signal's receipt (poll resolution), ms; null if never. */
  readonly drainMs: number | null;
  readonly receiptsRead: number;
  /** The most action_complete receipts one tenant got (compared with the starter plan's monthly quota). */
  readonly maxCompletePerTenant: number;
}

interface StoredReceipt {
  readonly body: { readonly seq: number; readonly operation: string; signal_id?: string; reason?: string };
}

/**
 * Reads every tenant's chain over GET /v1/tenants/{id}/receipts (paging by after_seq) until
 * each accepted signal has its receipt or `graceMs` passes.
 */
async function awaitReceipts(
  g: Governor,
  tenants: readonly string[],
  /** signal_id → account_id of every 202. */
  accepted: ReadonlyMap<string, string>,
  loadEnd: number,
  graceMs: number,
): Promise<ReceiptCheck> {
  const after = new Map(tenants.map((t) => [t, -1]));
  const expected = new Map<string, number>();
  for (const tenant of accepted.values()) expected.set(tenant, (expected.get(tenant) ?? 0) + 1);
  const doneBy = new Map<string, number>();
  const done = new Map<string, string>();
  const refused: Record<string, number> = {};
  const other: Record<string, number> = {};
  const completeBy = new Map<string, number>();
  let complete = 0;
  let duplicates = 0;
  let unseen = 0;
  let receiptsRead = 0;
  let drainMs: number | null = null;
  const headers = { authorization: `Bearer ${g.token}` };
  const readTenant = async (tenant: string) => {
    for (;;) {
      const res = await fetch(
        `${g.child.url}/v1/tenants/${tenant}/receipts?after_seq=${after.get(tenant) ?? -1}&limit=1000`,
        { headers },
      );
      if (res.status !== 200) throw new Error(`GET receipts of ${tenant}: ${res.status} ${await res.text()}`);
      const page = (await res.json()) as { receipts: StoredReceipt[]; next_after_seq: number | null };
      for (const { body } of page.receipts) {
        after.set(tenant, body.seq);
        receiptsRead += 1;
        if (!body.operation.startsWith('action_')) continue;
        const id = body.signal_id;
        if (id === undefined) {
          other[body.operation] = (other[body.operation] ?? 0) + 1;
          continue;
        }
        if (!accepted.has(id)) {
          unseen += 1;
          continue;
        }
        if (done.has(id)) {
          duplicates += 1;
          continue;
        }
        done.set(id, body.operation);
        doneBy.set(tenant, (doneBy.get(tenant) ?? 0) + 1);
        if (body.operation === 'action_complete') {
          complete += 1;
          completeBy.set(tenant, (completeBy.get(tenant) ?? 0) + 1);
        } else {
          const why = `${body.operation}${body.reason ? ` (${body.reason})` : ''}`;
          refused[why] = (refused[why] ?? 0) + 1;
        }
      }
      if (page.next_after_seq === null) return;
    }
  };
  // Every chain once (receipts of signals whose 202 was cut off count too), then only the chains
  // still waiting for receipts, every 500 ms: the reads cost the governor CPU.
  const deadline = performance.now() + graceMs;
  let waiting = [...tenants];
  for (;;) {
    for (let i = 0; i < waiting.length; i += 10) await Promise.all(waiting.slice(i, i + 10).map(readTenant));
    if (done.size >= accepted.size) {
      drainMs = performance.now() - loadEnd;
      break;
    }
    if (performance.now() > deadline) break;
    waiting = tenants.filter((t) => (doneBy.get(t) ?? 0) < (expected.get(t) ?? 0));
    await sleep(500);
  }
  return {
    accepted: accepted.size,
    complete,
    refused,
    lost: accepted.size - done.size,
    duplicates,
    unseen,
    other,
    drainMs,
    receiptsRead,
    maxCompletePerTenant: Math.max(0, ...completeBy.values()),
  };
}

// ------------------------------------------------------------------------------- emulators ---

function reachable(address: string, timeoutMs = 1500): Promise<boolean> {
  const url = new URL(address.includes('://') ? address : `tcp://${address}`);
  return new Promise((resolve) => {
    const socket = connect(Number(url.port || 80), url.hostname.replace(/^\[|\]$/g, ''));
    const end = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => end(false));
    socket.once('connect', () => end(true));
    socket.once('error', () => end(false));
  });
}

/** Why the emulator figure cannot run, or null when it can. */
async function emulatorsUnavailable(): Promise<string | null> {
  const unset = EMULATOR_VARS.filter((v) => !process.env[v]);
  if (unset.length > 0)
    return (
      `${unset.join(', ')} not set; to run it: bash infra/local/backends.sh up && ` +
      `eval "$(bash infra/local/backends.sh env)" && pnpm bench:ingress`
    );
  const down: string[] = [];
  for (const v of EMULATOR_VARS)
    if (!(await reachable(process.env[v] as string))) down.push(`${v}=${process.env[v]}`);
  return down.length === 0
    ? null
    : `the emulators do not answer (${down.join(', ')}); start them: bash infra/local/backends.sh up`;
}

/** `governor-bench-20260123-141502-3fa9`: the Firestore and Pub/Sub project and the bucket of one run. */
function benchProjectId(now = new Date()): string {
  const stamp = now
    .toISOString()
    .replace(/\.\d+Z$/, '')
    .replace(/[-:]/g, '')
    .replace('T', '-');
  return `governor-bench-${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Drops the run's Firestore documents, Pub/Sub topics and subscriptions, and bucket. */
async function clearEmulators(project: string): Promise<string[]> {
  const pubsub = `http://${process.env.PUBSUB_EMULATOR_HOST ?? ''}`;
  const firestore = `http://${process.env.FIRESTORE_EMULATOR_HOST ?? ''}`;
  const gcs = (process.env.STORAGE_EMULATOR_HOST ?? '').replace(/\/$/, '');
  const problems: string[] = [];
  const ok = async (what: string, res: Promise<Response>) => {
    try {
      const r = await res;
      await r.arrayBuffer();
      if (!r.ok && r.status !== 404) problems.push(`${what}: ${r.status}`);
    } catch (e) {
      problems.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const names = async (
    url: string,
    key: 'topics' | 'subscriptions' | 'items',
    field: 'name',
  ): Promise<string[]> => {
    const out: string[] = [];
    let token = '';
    for (;;) {
      const sep = url.includes('?') ? '&' : '?';
      const res = await fetch(`${url}${token ? `${sep}pageToken=${encodeURIComponent(token)}` : ''}`);
      if (!res.ok) return out;
      const page = (await res.json()) as Record<string, unknown>;
      const items = (page[key] ?? []) as Record<string, string>[];
      out.push(...items.map((i) => i[field] as string));
      token = (page.nextPageToken as string | undefined) ?? '';
      if (!token) return out;
    }
  };
  const inBatches = async (items: readonly string[], f: (item: string) => Promise<void>) => {
    for (let i = 0; i < items.length; i += 20) await Promise.all(items.slice(i, i + 20).map(f));
  };
  try {
    const subs = await names(
      `${pubsub}/v1/projects/${project}/subscriptions?pageSize=1000`,
      'subscriptions',
      'name',
    );
    await inBatches(subs, (s) => ok(`delete ${s}`, fetch(`${pubsub}/v1/${s}`, { method: 'DELETE' })));
    const topics = await names(`${pubsub}/v1/projects/${project}/topics?pageSize=1000`, 'topics', 'name');
    await inBatches(topics, (t) => ok(`delete ${t}`, fetch(`${pubsub}/v1/${t}`, { method: 'DELETE' })));
    const objects = await names(`${gcs}/storage/v1/b/${project}/o`, 'items', 'name');
    await inBatches(objects, (o) =>
      ok(
        `delete gs://${project}/${o}`,
        fetch(`${gcs}/storage/v1/b/${project}/o/${encodeURIComponent(o)}`, { method: 'DELETE' }),
      ),
    );
    await ok(`delete bucket ${project}`, fetch(`${gcs}/storage/v1/b/${project}`, { method: 'DELETE' }));
    await ok(
      `delete Firestore documents of ${project}`,
      fetch(`${firestore}/emulator/v1/projects/${project}/databases/(default)/documents`, {
        method: 'DELETE',
      }),
    );
  } catch (e) {
    problems.push(e instanceof Error ? e.message : String(e));
  }
  return problems;
}

// ---------------------------------------------------------------------------------- phases ---

interface Measurements {
  readonly bare: readonly LoadResult[];
  readonly reject: LoadResult;
  readonly signals: LoadResult;
  readonly receipts: ReceiptCheck;
  /** CPU time of the governor process from the warm-up to the last receipt read, per accepted signal. */
  readonly cpuMsPerSignal: number | null;
  readonly embedded: LatencyResult;
  readonly emulators:
    (LatencyResult & { readonly project: string; readonly cleanup: readonly string[] }) | null;
  readonly emulatorsSkipped: string | null;
  readonly stops: Readonly<Record<string, string>>;
  readonly problems: readonly string[];
}

const barePath = (tenant: string) => `/v1/tenants/${tenant}/signals`;

async function measureBare(args: Args, bare: Child, label: string): Promise<LoadResult> {
  const request = {
    method: 'POST' as const,
    path: barePath('sig-0001'),
    headers: { 'content-type': 'application/json', authorization: 'Bearer not-checked' },
    body: SIGNAL_BODY,
  };
  const classify: Classify = (status) => (status === 202 ? '202' : null);
  await load('warm-up', bare.url, [request], args.warmup, args.connections, bare.pid, classify);
  return load(label, bare.url, [request], args.seconds, args.connections, bare.pid, classify);
}

async function measureRejection(args: Args, g: Governor): Promise<LoadResult> {
  const body = entitlement('bench-rejected');
  const wrong = `v1,${randomBytes(32).toString('base64')}`;
  const request = {
    method: 'POST' as const,
    path: '/v1/webhooks/marketplace',
    headers: {
      'content-type': 'application/json',
      'webhook-id': 'msg_bench_wrong_signature',
      'webhook-timestamp': String(Math.round(Date.now() / 1000)),
      'webhook-signature': wrong,
    },
    body,
  };
  const classify: Classify = (status, text) =>
    status === 401 && text.includes('"code":"BAD_SIGNATURE"') ? '401 BAD_SIGNATURE' : null;
  const { url, pid } = g.child;
  await load('warm-up', url, [request], args.warmup, args.connections, pid, classify);
  return load('webhook rejection', url, [request], args.seconds, args.connections, pid, classify);
}

const SIGNAL_ID = /"signal_id":"([0-9a-f-]{36})"/;
const ACCOUNT_ID = /"account_id":"([a-z0-9-]+)"/;

async function measureSignals(
  args: Args,
  g: Governor,
  tenants: readonly string[],
): Promise<{ run: LoadResult; receipts: ReceiptCheck; cpuMsPerSignal: number | null }> {
  const accepted = new Map<string, string>();
  const classify: Classify = (status, text) => {
    if (status === 202) {
      const id = SIGNAL_ID.exec(text)?.[1];
      const account = ACCOUNT_ID.exec(text)?.[1];
      if (id === undefined || account === undefined) return null;
      accepted.set(id, account);
      return '202';
    }
    return status === 429 && text.includes('"code":"QUEUE_FULL"') ? '429 QUEUE_FULL' : null;
  };
  const requests = tenants.map((t) => ({
    method: 'POST' as const,
    path: barePath(t),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${g.token}` },
    body: SIGNAL_BODY,
  }));
  const { url, pid } = g.child;
  const cpu0 = procCpuMs(pid);
  // The warm-up's signals count in the receipt check too (not in the rate).
  await load('warm-up', url, requests, args.warmup, args.connections, pid, classify);
  const run = await load('signal submission', url, requests, args.seconds, args.connections, pid, classify);
  const loadEnd = performance.now();
  note(`signals: ${n(accepted.size)} accepted (warm-up included); reading the receipts back`);
  const receipts = await awaitReceipts(g, tenants, accepted, loadEnd, args.graceS * 1000);
  const cpu1 = procCpuMs(pid);
  // Everything the governor process did for the accepted signals: HTTP, runtime, stores (and the reads here).
  const cpuMsPerSignal =
    cpu0 === null || cpu1 === null || accepted.size === 0 ? null : (cpu1 - cpu0) / accepted.size;
  return { run, receipts, cpuMsPerSignal };
}

async function measureEmulators(
  args: Args,
  root: string,
): Promise<LatencyResult & { project: string; cleanup: readonly string[]; stop: string }> {
  const project = benchProjectId();
  const dataDir = join(root, 'gcp');
  note(`emulators: governor start --backend gcp, project and bucket ${project}`);
  let g: Governor | null = null;
  let stop = 'not started';
  let cleanup: readonly string[] = [];
  let result: LatencyResult;
  try {
    g = await startGovernorChild('governor-gcp', 'gcp', dataDir, {
      GOVERNOR_PROJECT: project,
      GOVERNOR_BUCKET: project,
      GOVERNOR_WORKER_ID: 'bench-ingress',
      METADATA_SERVER_DETECTION: 'none',
    });
    note(`emulators: ${args.provisions} provisions, ${args.inFlight} in flight`);
    result = await provisionLatency(g, accountIds('bench', args.provisions), args.inFlight);
  } finally {
    if (g !== null) stop = await g.child.stop(30_000);
    if (!args.keep) cleanup = await clearEmulators(project);
  }
  return { ...result, project, cleanup, stop };
}

async function measure(args: Args, root: string): Promise<Measurements> {
  const problems: string[] = [];
  const stops: Record<string, string> = {};
  note('bare fastify route (child process)');
  const bare = await spawnChild('bare-fastify', [BARE], process.env, join(root, 'bare-fastify.log'), 30_000);
  let bareBefore: LoadResult;
  let bareAfter: LoadResult;
  let reject: LoadResult;
  let embedded: LatencyResult;
  let signals: Awaited<ReturnType<typeof measureSignals>>;
  try {
    bareBefore = await measureBare(args, bare, 'bare route, before');
    note('governor start --backend local (child process)');
    const profile = args.cpuProf === null ? [] : ['--cpu-prof', '--cpu-prof-dir', args.cpuProf];
    const g = await startGovernorChild('governor-local', 'local', join(root, 'embedded'), {}, profile);
    try {
      note(`webhook rejection: ${args.seconds} s, ${args.connections} connections`);
      reject = await measureRejection(args, g);
      // On a quiet governor, before the signal load leaves it a backlog.
      note(`webhook → entitlement_active: ${args.provisions} provisions, ${args.inFlight} in flight`);
      embedded = await provisionLatency(g, accountIds('bench', args.provisions), args.inFlight);
      note(`signal submission: provisioning ${args.tenants} starter tenants`);
      const tenants = accountIds('sig', args.tenants);
      for (const t of tenants) {
        const answer = await provision(g, t);
        if (activeReceipt(answer) === null)
          throw new Error(`provisioning ${t}: ${answer.status} ${answer.body.slice(0, 300)}`);
      }
      note(
        `signal submission: ${args.seconds} s, ${args.connections} connections, round-robin over ${args.tenants} tenants`,
      );
      signals = await measureSignals(args, g, tenants);
    } finally {
      stops['governor-local'] = await g.child.stop(30_000);
    }
    note('bare fastify route again');
    bareAfter = await measureBare(args, bare, 'bare route, after');
  } finally {
    stops['bare-fastify'] = await bare.stop(5_000);
  }

  const why = await emulatorsUnavailable();
  let emulators: Measurements['emulators'] = null;
  if (why === null) {
    try {
      const { stop, ...rest } = await measureEmulators(args, root);
      stops['governor-gcp'] = stop;
      emulators = rest;
    } catch (e) {
      problems.push(`emulators: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else note(`emulators: skipped (${why})`);

  for (const r of [bareBefore, bareAfter, reject, signals.run]) problems.push(...loadProblems(r));
  for (const [name, how] of Object.entries(stops))
    if (how !== 'exit 0') problems.push(`${name} did not stop cleanly on SIGTERM (${how})`);
  return {
    bare: [bareBefore, bareAfter],
    reject,
    signals: signals.run,
    receipts: signals.receipts,
    cpuMsPerSignal: signals.cpuMsPerSignal,
    embedded,
    emulators,
    emulatorsSkipped:
      why === null && emulators === null ? 'the emulator run failed (see PROBLEM below)' : why,
    stops,
    problems,
  };
}

// ---------------------------------------------------------------------------------- report ---

const baselineOf = (m: Measurements): number => m.bare.reduce((best, r) => Math.max(best, r.rate), 0);
const accepted = (r: LoadResult): number => r.statuses['202'] ?? 0;

function receiptProblems(c: ReceiptCheck, args: Args): string[] {
  const out: string[] = [];
  if (c.lost > 0)
    out.push(`${n(c.lost)} of ${n(c.accepted)} accepted signals without a receipt after ${args.graceS} s`);
  if (c.duplicates > 0) out.push(`${c.duplicates} signals with more than one action receipt`);
  if (Object.keys(c.other).length > 0) out.push(`other action receipts ${JSON.stringify(c.other)}`);
  // At most one answer per connection and phase (warm-up, run) is cut off when the load stops.
  if (c.unseen > 2 * args.connections) out.push(`${c.unseen} receipts for signals never answered 202 here`);
  return out;
}

function latencyProblems(l: LatencyResult): string[] {
  return l.failures.length === 0
    ? []
    : [`${l.failures.length} of ${l.provisions} provisions failed (${l.failures.slice(0, 3).join(' | ')})`];
}

function figuresOf(m: Measurements, args: Args): Figure[] {
  const validity = (problems: readonly string[]) =>
    problems.length === 0 ? { ok: true, why: '' } : { ok: false, why: problems.join('; ') };
  const signalProblems = [...loadProblems(m.signals), ...receiptProblems(m.receipts, args)];
  const l = m.embedded;
  const figures = [
    figure(
      `signal submission: 202 accepted/s, ${args.tenants} starter tenants`,
      { label: 'accepted', value: accepted(m.signals) / m.signals.seconds, unit: 'req/s' },
      { label: 'bare route', value: baselineOf(m), unit: 'req/s' },
      TARGETS.signals,
      validity(signalProblems),
    ),
    figure(
      `webhook → entitlement_active p99, embedded (${l.provisions}, ${l.inFlight} in flight)`,
      { label: 'p99', value: l.latency.p99, unit: 'ms' },
      null,
      TARGETS.embedded,
      validity(latencyProblems(l)),
    ),
  ];
  const e = m.emulators;
  figures.push(
    e === null
      ? skipped(
          'webhook → entitlement_active p99, emulators',
          TARGETS.emulators,
          m.emulatorsSkipped ?? 'skipped',
        )
      : figure(
          `webhook → entitlement_active p99, emulators (${e.provisions}, ${e.inFlight} in flight)`,
          { label: 'p99', value: e.latency.p99, unit: 'ms' },
          null,
          TARGETS.emulators,
          validity(latencyProblems(e)),
        ),
  );
  return figures;
}

const cores = (c: Cores) =>
  `server ${c.server === null ? '-' : c.server.toFixed(2)}, loadgen ${c.loadgen.toFixed(2)}`;
const statusText = (r: LoadResult) =>
  Object.entries(r.statuses)
    .map(([k, v]) => `${k} ×${n(v)}`)
    .join(', ');

function loadTable(m: Measurements): string {
  const base = baselineOf(m);
  const row = (name: string, r: LoadResult, value: number) => [
    name,
    num(value),
    base > 0 ? `${num(value / base)}×` : '-',
    statusText(r),
    `${r.latency.p50} / ${r.latency.p99} ms`,
    cores(r.cores),
  ];
  const [before, after] = m.bare as [LoadResult, LoadResult];
  const rows = [
    row('bare fastify route, before', before, before.rate),
    row('bare fastify route, after', after, after.rate),
    row('webhook, wrong signature → 401', m.reject, m.reject.rate),
    row('signal submission → 202 accepted', m.signals, accepted(m.signals) / m.signals.seconds),
  ];
  if (accepted(m.signals) !== m.signals.responses)
    rows.push(row('signal submission, all answers', m.signals, m.signals.rate));
  return alignedTable(
    ['load (autocannon)', 'answers/s', 'ratio', 'statuses', 'p50 / p99', 'CPU cores busy'],
    rows,
  );
}

const ms = (x: number) => `${num(x)} ms`;

function footnotes(m: Measurements, args: Args): string[] {
  const c = m.receipts;
  const base = baselineOf(m);
  const [before, after] = m.bare as [LoadResult, LoadResult];
  const lines: string[] = [];
  if (Math.max(before.rate, after.rate) > 1.3 * Math.min(before.rate, after.rate))
    lines.push(
      `WARNING: the bare route went from ${n(before.rate)}/s before to ${n(after.rate)}/s after: the machine was ` +
        `busy with something else; the faster run is the baseline, the figures between may have been slowed too.`,
    );
  lines.push(
    `baseline: the faster of the two bare runs, ${n(base)} req/s: fastify with one POST route answering 202 ` +
      `{"accepted":true,...}, the same raw-bytes JSON parser and 64 KiB body limit as the ingress, no logger, in a ` +
      `child process; same body (${Buffer.byteLength(SIGNAL_BODY)} B) and connections.`,
  );
  const totalSignals = c.accepted;
  const drain =
    c.drainMs === null
      ? `NOT all within the ${args.graceS} s grace period`
      : `all ${(c.drainMs / 1000).toFixed(1)} s after the load stopped (end to end ${num(
          totalSignals / (m.signals.seconds + args.warmup + c.drainMs / 1000),
        )} signals/s incl. warm-up)`;
  lines.push(
    `signals: ${n(accepted(m.signals))} accepted in ${m.signals.seconds} s (+${n(totalSignals - accepted(m.signals))} ` +
      `in the warm-up), 429 QUEUE_FULL ${n(m.signals.statuses['429 QUEUE_FULL'] ?? 0)}; receipts read back over ` +
      `GET /v1/tenants/{id}/receipts: ${drain}. action_complete ${n(c.complete)} of ${n(c.accepted)} accepted, ` +
      `refused ${JSON.stringify(c.refused)}, lost ${c.lost}, duplicates ${c.duplicates}, other ${JSON.stringify(c.other)}, ` +
      `receipts for answers cut off at the end of a load run ${c.unseen}; at most ${n(c.maxCompletePerTenant)} ` +
      `action_complete on one tenant (starter quota: ${n(STARTER_QUOTA)} a month). Governor process CPU from the warm-up to the ` +
      `last receipt: ${m.cpuMsPerSignal === null ? '-' : ms(m.cpuMsPerSignal)} per accepted signal.`,
  );
  lines.push(
    `webhook rejection: ${n(m.reject.responses)} answers in ${m.reject.seconds} s, ${num(m.reject.rate / base)}× the ` +
      `bare route (HMAC-SHA256 over the raw body, envelope, warn log line to a file, metrics).`,
  );
  const lat = (name: string, l: LatencyResult) =>
    `${name}: ${l.ok}/${l.provisions} entitlement.created webhooks answered 200 entitlement_active, ${l.inFlight} ` +
    `in flight, ${num(l.provisions / l.seconds)}/s: p50 ${ms(l.latency.p50)}, p99 ${ms(l.latency.p99)}, max ` +
    `${ms(l.latency.max)}, mean ${ms(l.latency.mean)} (of which the runtime's provisioning steps, the receipt's ` +
    `duration_ms: p50 ${ms(l.governor.p50)}, p99 ${ms(l.governor.p99)}; the rest is the HTTP edge, making the ` +
    `receipt durable and reading it back); CPU ${cores(l.cores)}.`;
  lines.push(lat('embedded', m.embedded));
  if (m.emulators) {
    lines.push(`${lat('emulators', m.emulators)} Project and bucket ${m.emulators.project}.`);
    if (m.emulators.cleanup.length > 0)
      lines.push(`  emulator clean-up: ${m.emulators.cleanup.slice(0, 3).join('; ')}`);
  } else lines.push(`emulators: skipped: ${m.emulatorsSkipped ?? ''}`);
  if (c.maxCompletePerTenant > STARTER_QUOTA)
    lines.push(
      `WARNING: a starter tenant ran ${n(c.maxCompletePerTenant)} actions, more than its monthly quota of ` +
        `${n(STARTER_QUOTA)}: the governor admits a signal while the actions started so far are under the quota, ` +
        `and up to a queue's worth more are waiting by then.`,
    );
  for (const p of m.problems) lines.push(`PROBLEM: ${p}`);
  return lines;
}

function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  if (!existsSync(BARE)) throw new Error(`${BARE} is missing: run tsc -b test first`);
  const started = performance.now();
  const load0 = loadavg()[0] ?? 0;
  const root = mkdtempSync(join(tmpdir(), 'governor-bench-ingress-'));
  note(`data and child logs in ${root}`);
  let m: Measurements;
  try {
    m = await measure(args, root);
  } catch (e) {
    note(`failed; child logs kept in ${root}`);
    throw e;
  }
  if (!args.keep) rmSync(root, { recursive: true, force: true });
  const figures = figuresOf(m, args);
  const context = {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    load: [load0, loadavg()[0] ?? 0].map((x) => Math.round(x * 100) / 100),
    duration_s: Math.round((performance.now() - started) / 100) / 10,
  };
  const invalid = figures.some((f) => f.note !== null && f.status === 'MISS') || m.problems.length > 0;
  note(`done in ${context.duration_s} s`);
  if (args.json) {
    const json = {
      ...context,
      args,
      pass: figures.every((f) => f.status !== 'MISS'),
      valid: !invalid,
      figures,
      details: m,
    };
    process.stdout.write(`${JSON.stringify(json, roundNumbers, 2)}\n`);
  } else {
    process.stdout.write(
      `ingress bench${args.quick ? ' (--quick)' : ''}: autocannon in the bench process (${args.connections} ` +
        `connections, ${args.seconds} s per run after a ${args.warmup} s warm-up); each server in its own child ` +
        `process (bare fastify; governor start = ingress + worker in one process); node ${context.node}, ` +
        `${context.cpus} CPUs (${context.cpu_model}), load ${context.load.join(' → ')}, ${context.duration_s} s\n\n` +
        `${loadTable(m)}\n\n${renderTable(figures)}\n\n${footnotes(m, args).join('\n')}\n`,
    );
  }
  if (invalid) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) process.stderr.write(`bench:ingress: ${e.message}\n`);
  else process.stderr.write(`bench:ingress: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  killAll();
  process.exitCode = 1;
});
