import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { openGcpStores, seedPolicies, type GcpStores, type PubSubLogLine } from '@governor/adapters-gcp';
import { FileSpool } from '@governor/adapters-local';
import { backends } from '../support/backends';
import { parseE2eArgs, UsageError, type E2eArgs } from './e2e-args';
import {
  measureLatency,
  measureLedgerOnly,
  measureThroughput,
  startBench,
  type Breakdown,
  type LatencyResult,
  type LedgerOnlyResult,
  type ThroughputResult,
} from './e2e-phases';
import {
  createRawTopics,
  deleteRawTopics,
  inWindows,
  measureRawFirestore,
  measureRawPubSub,
  type RawFirestoreResult,
  type RawPubSubResult,
} from './e2e-raw';
import { BackendsDown, CpuMeter, n, note, requireBackends, runId, since, type Spread } from './e2e-support';
import { checkChains, type ChainCheck } from './e2e-verify';
import { figure, num, renderTable, type Figure, type Target } from './report';

/**
 * `pnpm bench:e2e [--tenants 100] [--signals 10000] [--rate 500] [--seconds 10] [--quick] [--keep] [--json]`
 *
 * The GovernorRuntime on the Google Cloud adapters against the local emulators (Pub/Sub,
 * Firestore, fake-gcs-server), each figure beside a raw baseline measured in the same run with
 * the same clients:
 *   1. signals/s, publish → governor → noop action → durable action_complete receipt → ack, vs
 *      raw publish + streaming pull + ack of as many signal-sized messages on as many topics;
 *   2. receipts/s a ChainWriter commits to the FirestoreLedger, vs raw WriteBatch.create() of
 *      stored-receipt documents in batches of the size the governor achieved in (1);
 *   3. p50/p99 from publish to durable receipt at a fixed offered rate (open loop).
 * Every chain is read back and verified at the end. The table (or with --json, one JSON object)
 * goes to stdout, progress to stderr. Exits 1 if a run did not do what it should (a receipt
 * lost or doubled, a chain that does not verify); a MISS against a target is reported, not an error.
 */

const TARGETS = {
  e2e: { op: '>=', value: 0.5, unit: '×', onRatio: true },
  receipts: { op: '>=', value: 0.7, unit: '×', onRatio: true },
  p99: { op: '<', value: 250, unit: 'ms', onRatio: false },
} as const satisfies Record<string, Target>;

const WORKER_ID = 'bench-e2e';

/**
 * Rejections nobody handled, recorded instead of crashing the run: the bench reports them (the
 * run is then invalid) along with everything it measured.
 */
const unhandled = { count: 0, samples: [] as string[] };
process.on('unhandledRejection', (reason: unknown) => {
  unhandled.count += 1;
  if (unhandled.samples.length < 3)
    unhandled.samples.push(reason instanceof Error ? `${reason.name}: ${reason.message}` : String(reason));
});

interface Measurements {
  readonly project_id: string;
  readonly provision_ms: number;
  readonly raw_pubsub: readonly RawPubSubResult[];
  readonly e2e: ThroughputResult;
  readonly latency: LatencyResult;
  readonly raw_firestore: readonly RawFirestoreResult[];
  readonly ledger_only: LedgerOnlyResult;
  readonly check: ChainCheck;
  readonly acks: {
    readonly deliveries: number;
    readonly redeliveries: number;
    readonly nacks: number;
    /** Redeliveries to the governor by the phase they arrived in. */
    readonly by_phase: Readonly<Record<string, number>>;
  };
  readonly failures: {
    readonly ledger: number;
    readonly ledger_kinds: Readonly<Record<string, number>>;
    readonly action_log: number;
    readonly action_log_kinds: Readonly<Record<string, number>>;
    /** Actions a write-ahead found already written: the governor acked the signal as a duplicate. */
    readonly start_action_existed: number;
    readonly governor_duplicates: number;
    /** Receipts a chain writer spooled locally because a ledger commit failed (never recovered here). */
    readonly spooled: number;
    readonly unhandled_rejections: number;
    readonly unhandled_samples: readonly string[];
  };
  readonly alerts: Readonly<Record<string, number>>;
  readonly pubsub_log: Readonly<Record<string, number>>;
  readonly notes: readonly string[];
}

function policiesRoot(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'policies', 'professional'))) return join(dir, 'policies');
    if (dirname(dir) === dir) throw new Error(`no policies/ directory above ${__dirname}`);
  }
}

interface PlanLimits {
  readonly maxOutstanding: number;
  readonly monthlyActions: number;
}

/** What the runtime derives from the professional policy: flow control and the monthly quota. */
function professionalLimits(): PlanLimits {
  const policy = JSON.parse(readFileSync(join(policiesRoot(), 'professional', '1.0.0.json'), 'utf8')) as {
    quotas: { monthly_actions: number; max_concurrent_actions: number };
    scaling: { lag_threshold: number };
  };
  return {
    maxOutstanding: policy.quotas.max_concurrent_actions + policy.scaling.lag_threshold,
    monthlyActions: policy.quotas.monthly_actions,
  };
}

/**
 * The baseline of a figure: the faster of the raw runs before and after the measured one. Other
 * load on the machine (or emulator state the measured run left behind) can only slow a raw run
 * down, so the faster run is the better estimate of what the emulator can do, and the ratio
 * errs against the governor.
 */
function bestRate(runs: readonly { readonly rate: number }[]): number {
  return runs.reduce((best, r) => Math.max(best, r.rate), 0);
}

async function measure(
  args: E2eArgs,
  stores: GcpStores,
  cpu: CpuMeter,
  projectId: string,
  spoolDir: string,
): Promise<Measurements> {
  const limits = professionalLimits();
  const { firestore, pubsub } = stores.clients;
  note(`project ${projectId}: seeding policies, provisioning ${args.tenants} tenants`);
  await seedPolicies(stores.registry, policiesRoot());
  const bench = await startBench(stores, WORKER_ID, args.tenants, new FileSpool(spoolDir));
  const raw = await createRawTopics(pubsub, args.tenants, limits.maxOutstanding);
  try {
    // Redeliveries to the governor, by the phase they arrived in.
    const redelivered: Record<string, number> = {};
    let seen = bench.bus.redeliveries;
    const phase = (name: string) => {
      redelivered[name] = bench.bus.redeliveries - seen;
      seen = bench.bus.redeliveries;
    };
    // Order matters: a phase that builds a backlog can leave Pub/Sub redelivering (an ordered
    // subscription redelivers the rest of a key after one ack deadline passes), so the open-loop
    // latency phase runs first, on a quiet runtime, and the runtime is stopped (its subscriptions
    // closed) before the raw runs after it and the Firestore phases.
    const rawA = await measureRawPubSub(raw, args.signals, 'raw-pubsub-a', cpu);
    phase('raw-pubsub-a');
    const latency = await measureLatency(bench, args.rate, args.seconds, cpu);
    phase('latency');
    const e2e = await measureThroughput(bench, args.signals, cpu);
    phase('e2e');
    await bench.runtime.stop();
    phase('stop');
    const rawB = await measureRawPubSub(raw, args.signals, 'raw-pubsub-b', cpu);
    const batch = Math.max(1, Math.round(e2e.breakdown.batch_mean));
    const perChain = Math.ceil(args.signals / args.tenants);
    const fsA = await measureRawFirestore(firestore, 'raw-fs-a', args.tenants, perChain, batch, cpu);
    const ledgerOnly = await measureLedgerOnly(stores.ledger, args.tenants, perChain, batch, cpu);
    const fsB = await measureRawFirestore(firestore, 'raw-fs-b', args.tenants, perChain, batch, cpu);
    const check = await checkChains(stores.ledger, bench.published);
    const { bus, ledger } = bench;
    return {
      project_id: projectId,
      provision_ms: bench.provision_ms,
      raw_pubsub: [rawA, rawB],
      e2e,
      latency,
      raw_firestore: [fsA, fsB],
      ledger_only: ledgerOnly,
      check,
      acks: {
        deliveries: bus.deliveries,
        redeliveries: bus.redeliveries,
        nacks: bus.nacks,
        by_phase: redelivered,
      },
      failures: {
        ledger: ledger.failures.count,
        ledger_kinds: ledger.failures.summary(),
        action_log: ledger.actionFailures.count,
        action_log_kinds: ledger.actionFailures.summary(),
        start_action_existed: ledger.notCreated,
        governor_duplicates: bench.runtime.list().reduce((s, g) => s + g.duplicates, 0),
        spooled: bench.runtime.list().reduce((s, g) => s + g.writer.spooled, bench.runtime.worker.spooled),
        unhandled_rejections: unhandled.count,
        unhandled_samples: unhandled.samples,
      },
      alerts: Object.fromEntries(bench.alerts.byCode),
      pubsub_log: {},
      notes: bench.alerts.samples,
    };
  } finally {
    await bench.runtime.stop();
    if (!args.keep) {
      note('cleaning up: topics, Firestore documents, bucket');
      await Promise.allSettled([
        deleteRawTopics(raw),
        inWindows(bench.accounts, 20, (a) => stores.bus.deleteTopic(a)),
      ]);
    }
  }
}

/** Drops the run's project from the Firestore emulator and its bucket from fake-gcs-server. */
async function clearEmulators(stores: GcpStores, projectId: string, bucket: string): Promise<void> {
  await Promise.allSettled([
    fetch(`http://${backends.firestore}/emulator/v1/projects/${projectId}/databases/(default)/documents`, {
      method: 'DELETE',
    }),
    stores.clients.storage
      .bucket(bucket)
      .deleteFiles({ force: true })
      .then(() => stores.clients.storage.bucket(bucket).delete()),
  ]);
}

function validity(m: Measurements): { ok: boolean; why: string } {
  const c = m.check;
  const problems: string[] = [];
  if (c.lost > 0) problems.push(`${c.lost} signals without a receipt`);
  if (c.duplicates > 0) problems.push(`${c.duplicates} duplicate receipts`);
  if (c.unexpected > 0) problems.push(`${c.unexpected} unexpected receipts`);
  if (c.receipts !== c.expected_receipts) problems.push(`${c.receipts}/${c.expected_receipts} receipts`);
  if (c.chains_ok !== c.chains) problems.push(`${c.chains - c.chains_ok} chains fail verification`);
  if (!c.heads_ok) problems.push('a stored head is not the end of its chain');
  if (m.e2e.durable !== m.e2e.signals)
    problems.push(`e2e: only ${m.e2e.durable} of ${m.e2e.signals} signals reached a durable receipt`);
  if (m.e2e.ack_ms === null) problems.push('not every signal was acked within 30 s of its receipt');
  if (m.failures.spooled > 0) problems.push(`${m.failures.spooled} receipts spooled after failed commits`);
  if (m.failures.unhandled_rejections > 0)
    problems.push(
      `${m.failures.unhandled_rejections} unhandled rejections (${m.failures.unhandled_samples.join('; ')})`,
    );
  return problems.length === 0
    ? { ok: true, why: '' }
    : { ok: false, why: `${problems.join('; ')}. ${c.issues.join('; ')}` };
}

function figuresOf(m: Measurements): Figure[] {
  const valid = validity(m);
  const rawPubSub = bestRate(m.raw_pubsub);
  const rawFs = bestRate(m.raw_firestore);
  const l = m.latency;
  const latencyValid = !valid.ok
    ? valid
    : l.durable !== l.signals
      ? { ok: false, why: `${l.signals - l.durable} of ${l.signals} signals never durable` }
      : l.publish_rate < 0.95 * l.offered_rate
        ? {
            ok: false,
            why: `the scheduler published only ${num(l.publish_rate)}/s of ${num(l.offered_rate)}/s`,
          }
        : valid;
  const lo = m.ledger_only;
  return [
    figure(
      `signals/s, publish → noop → durable receipt, ${m.e2e.tenants} tenants`,
      { label: 'e2e', value: m.e2e.rate, unit: 'signals/s' },
      { label: 'raw publish+pull+ack', value: rawPubSub, unit: 'msgs/s' },
      TARGETS.e2e,
      valid,
    ),
    figure(
      `receipts/s committed, ledger-only (ChainWriter, commits of ${lo.batch})`,
      { label: 'ledger', value: lo.rate, unit: 'receipts/s' },
      { label: `raw batch create ×${m.raw_firestore[0]?.batch ?? lo.batch}`, value: rawFs, unit: 'docs/s' },
      TARGETS.receipts,
      valid,
    ),
    figure(
      `p99 publish → durable receipt @ ${num(l.offered_rate)}/s offered, ${m.e2e.tenants} tenants, ${num(l.seconds)} s`,
      { label: 'p99', value: l.latency.p99, unit: 'ms' },
      null,
      TARGETS.p99,
      latencyValid,
    ),
  ];
}

const ms = (x: number): string => `${num(x)} ms`;
const sp = (s: Spread): string => `p50 ${ms(s.p50)}, p99 ${ms(s.p99)}`;

function coresText(cores: Record<string, number | null>): string {
  return Object.entries(cores)
    .filter((e): e is [string, number] => e[1] !== null)
    .map(([name, c]) => `${name} ${c.toFixed(2)}`)
    .join(', ');
}

function breakdownText(b: Breakdown): string {
  return (
    `publish→delivery ${sp(b.publish_to_delivery)}; delivery→durable ${sp(b.delivery_to_durable)}; ` +
    `durable→ack ${sp(b.durable_to_ack)}; ledger commit ${sp(b.commit)} (mean ${num(b.batch_mean)} ` +
    `receipts, max ${b.batch_max}); action-log write-ahead ${sp(b.write_ahead)} (mean ${num(b.write_ahead_mean)} actions); ` +
    `${num(b.commits_per_signal)} Firestore commits per signal`
  );
}

/** This process's CPU per item, in µs: where a phase bound by the governor's own work shows. */
function nodeCpuPer(cores: Record<string, number | null>, ms: number, items: number): string {
  const node = cores.node;
  return node === null || node === undefined || items === 0 ? '-' : `${num((node * ms * 1000) / items)} µs`;
}

/**
 * Raw baselines that moved a lot between the run before and the run after: the emulators share
 * the machine with whatever else runs, and the ratios are then unreliable.
 */
function warnings(m: Measurements): string[] {
  const out: string[] = [];
  const drift = (name: string, a: number, b: number) => {
    if (Math.max(a, b) > 1.5 * Math.min(a, b))
      out.push(`raw ${name} went from ${n(a)}/s before to ${n(b)}/s after`);
  };
  const [ra, rb] = m.raw_pubsub as [RawPubSubResult, RawPubSubResult];
  const [fa, fb] = m.raw_firestore as [RawFirestoreResult, RawFirestoreResult];
  drift('Pub/Sub', ra.rate, rb.rate);
  drift('Firestore', fa.rate, fb.rate);
  if (ra.redeliveries + rb.redeliveries > 0)
    out.push(`the raw Pub/Sub runs saw ${ra.redeliveries + rb.redeliveries} redeliveries`);
  return out.length === 0
    ? []
    : [
        `WARNING: ${out.join('; ')}: the machine or the emulators were busy. The faster raw run is the ` +
          `baseline, but the measured figures may have been slowed too.`,
      ];
}

function footnotes(m: Measurements): string[] {
  const s = (x: number): string => `${(x / 1000).toFixed(1)} s`;
  const [ra, rb] = m.raw_pubsub as [RawPubSubResult, RawPubSubResult];
  const [fa, fb] = m.raw_firestore as [RawFirestoreResult, RawFirestoreResult];
  const e = m.e2e;
  const l = m.latency;
  const lo = m.ledger_only;
  const c = m.check;
  const rawFs = bestRate(m.raw_firestore);
  const lines = [
    ...warnings(m),
    `latency: p50 ${ms(l.latency.p50)}, p99 ${ms(l.latency.p99)}, max ${ms(l.latency.max)} from the scheduled publish ` +
      `to action_complete durable; achieved ${num(l.achieved_rate)} signals/s durable (offered ${num(l.offered_rate)}/s, ` +
      `published ${num(l.publish_rate)}/s, scheduler late p99 ${ms(l.p99_late_ms)} max ${ms(l.max_late_ms)}), ` +
      `${n(l.signals)} signals round-robin over ${e.tenants} tenants.`,
    `  ${breakdownText(l.breakdown)}. CPU cores busy: ${coresText(l.cores)}; node CPU per signal ` +
      `${nodeCpuPer(l.cores, l.ms, l.durable)}.`,
    `e2e: ${n(e.signals)} noop signals via runtime.submit (PubSubBus.publish) all at once, round-robin; timed to ` +
      `the last action_complete durable ${s(e.ms)} (publishes resolved after ${s(e.publish_ms)}; last ack ` +
      `${e.ack_ms === null ? 'missing' : `${s(e.ack_ms)}, ${num(e.ack_rate ?? 0)} signals/s to ack`}). ` +
      `${n(e.commits)} tenant-chain commits; receipts committed in this phase ${num(e.receipts_rate)}/s ` +
      `(${num(e.receipts_rate / rawFs)}× raw Firestore).`,
    `  ${breakdownText(e.breakdown)}. CPU cores busy: ${coresText(e.cores)}; node CPU per signal ` +
      `${nodeCpuPer(e.cores, e.ms, e.durable)}.`,
    `raw Pub/Sub: same client, ${ra.topics} ordered topics + subscriptions made like PubSubBus's (publish batching ` +
      `100 msgs / 2 ms, ordering key per topic, one stream, flow control = the governor's maxOutstanding, acks every ` +
      `10 ms), ${n(ra.messages)} messages of ${ra.message_bytes} B (a signal's JSON) published at once, each acked on ` +
      `arrival: ${n(ra.rate)} before, ${n(rb.rate)} after the governor phases (runtime stopped), the faster is the baseline. Redeliveries ${ra.redeliveries + rb.redeliveries}. ` +
      `CPU cores busy: before ${coresText(ra.cores)}; after ${coresText(rb.cores)}.`,
    `raw Firestore: same client, WriteBatch.create() of ${n(fa.documents)} signed action_complete documents ` +
      `(~${n(fa.document_bytes)} B of fields, as FirestoreLedger stores a receipt) in batches of ${fa.batch} = the ` +
      `e2e mean commit size rounded, ${fa.chains} collections at once, one commit in flight each: ${n(fa.rate)} ` +
      `before, ${n(fb.rate)} after the ledger-only run, the faster is the baseline; commit p50 ${ms(fa.commit_p50_ms)}. ` +
      `CPU cores busy: ${coresText(fa.cores)}; node CPU per document ${nodeCpuPer(fa.cores, fa.ms, fa.documents)}.`,
    `ledger-only: ${lo.chains} ChainWriters on the runtime's FirestoreLedger, each emitting ${lo.batch} receipt(s) ` +
      `per turn and awaiting them (${n(lo.receipts)} in all; each commit also updates the head document under a ` +
      `lastUpdateTime precondition; each receipt is signed and hashed as it is emitted): commit ${sp(lo.commit)}. ` +
      `CPU cores busy: ${coresText(lo.cores)}; node CPU per receipt ${nodeCpuPer(lo.cores, lo.ms, lo.receipts)}.`,
    `check: ${c.chains_ok}/${c.chains} tenant chains read back from Firestore verify (verifyLines: hashes, links, ` +
      `signatures, contiguous seqs) with heads ok=${c.heads_ok}; ${n(c.receipts)}/${n(c.expected_receipts)} ` +
      `receipts, ${n(c.signals_done)}/${n(c.signals)} signals (warm-up included) with exactly one action_complete, ` +
      `lost ${c.lost}, duplicates ${c.duplicates}, unexpected ${c.unexpected}. Deliveries ${n(m.acks.deliveries)}, ` +
      `redeliveries ${m.acks.redeliveries}, nacks ${m.acks.nacks} (a redelivered signal finds its action-log ` +
      `entry and is acked without running again: the write-ahead found ${m.failures.start_action_existed}; ` +
      `redeliveries by phase ${JSON.stringify(m.acks.by_phase)}).`,
    `setup: project ${m.project_id}; ${e.tenants} professional tenants provisioned through runtime.provision in ` +
      `${s(m.provision_ms)}; alerts ${JSON.stringify(m.alerts)}; Pub/Sub adapter log lines ${JSON.stringify(m.pubsub_log)}.`,
  ];
  const f = m.failures;
  if (
    f.ledger +
      f.action_log +
      f.start_action_existed +
      f.governor_duplicates +
      f.unhandled_rejections +
      f.spooled >
    0
  )
    lines.push(
      `failures: ledger appends ${f.ledger} ${JSON.stringify(f.ledger_kinds)} (receipts spooled ${f.spooled}); ` +
        `action-log writes ${f.action_log} ` +
        `${JSON.stringify(f.action_log_kinds)}; the write-ahead found the entry already written ${f.start_action_existed} ` +
        `(governor duplicates ${f.governor_duplicates}); unhandled rejections ${f.unhandled_rejections} ` +
        `${JSON.stringify(f.unhandled_samples)}.`,
    );
  for (const sample of m.notes) lines.push(`  alert: ${sample}`);
  return lines;
}

/** JSON replacer: three decimals are plenty for rates, ratios and milliseconds. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

/** Every signal must run: a tenant past its plan's monthly quota would refuse the rest. */
function checkQuota(args: E2eArgs): void {
  const { monthlyActions } = professionalLimits();
  const perTenant =
    1 + Math.ceil(args.signals / args.tenants) + Math.ceil((args.rate * args.seconds) / args.tenants);
  if (perTenant > monthlyActions)
    throw new UsageError(
      `${perTenant} signals per tenant exceed the professional plan's monthly quota (${monthlyActions}): ` +
        `raise --tenants or lower --signals or --rate × --seconds`,
    );
}

async function main(): Promise<void> {
  const args = parseE2eArgs(process.argv.slice(2));
  checkQuota(args);
  const start = performance.now();
  const addresses = { pubsub: backends.pubsub, firestore: backends.firestore, gcs: backends.gcs };
  await requireBackends(addresses);
  const cpu = new CpuMeter(addresses);
  // The clients otherwise probe for a GCE metadata server (the emulators need no credentials)
  // and print a MetadataLookupWarning when there is none.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const id = runId();
  const projectId = `bench-e2e-${id}`;
  const bucket = `bench-e2e-${id}`;
  const pubsubLog = new Map<string, number>();
  const load = loadavg();
  const spoolDir = await mkdtemp(join(tmpdir(), 'governor-e2e-spool-'));
  const stores = await openGcpStores({
    projectId,
    bucket,
    workerId: WORKER_ID,
    deadlineMs: args.deadlineMs,
    pubsubEmulatorHost: backends.pubsub,
    firestoreEmulatorHost: backends.firestore,
    storageEmulatorHost: backends.gcs,
    log: (line: PubSubLogLine) => pubsubLog.set(line.level, (pubsubLog.get(line.level) ?? 0) + 1),
  });
  let measured: Measurements;
  try {
    measured = await measure(args, stores, cpu, projectId, spoolDir);
  } finally {
    if (!args.keep) await clearEmulators(stores, projectId, bucket);
    await stores.close();
    await rm(spoolDir, { recursive: true, force: true });
  }
  const m = { ...measured, pubsub_log: Object.fromEntries(pubsubLog) };
  const figures = figuresOf(m);
  const context = {
    node: process.version,
    cpus: availableParallelism(),
    cpu_model: cpus()[0]?.model ?? 'unknown',
    emulators: addresses,
    deadline_ms: args.deadlineMs,
    /** 1-minute load average at the start and the end: the emulators are shared with whatever else runs. */
    load: [load[0] ?? 0, loadavg()[0] ?? 0].map((x) => Math.round(x * 100) / 100),
    duration_s: Math.round(since(start) / 100) / 10,
  };
  note(`done in ${context.duration_s} s`);
  if (args.json) {
    const pass = figures.every((f) => f.status !== 'MISS');
    const json = { ...context, args, pass, warnings: warnings(m), figures, details: m };
    process.stdout.write(`${JSON.stringify(json, roundNumbers, 2)}\n`);
  } else {
    process.stdout.write(
      `e2e bench (GCP adapters on the local emulators): ${args.tenants} tenants, ${n(args.signals)} signals, ` +
        `${num(args.rate)}/s × ${num(args.seconds)} s; node ${context.node}, ${context.cpus} CPUs ` +
        `(${context.cpu_model}), emulators on the same machine (load ${context.load.join(' → ')}), Firestore ` +
        `deadline ${n(args.deadlineMs)} ms, ${context.duration_s} s\n\n` +
        `${renderTable(figures)}\n\n${footnotes(m).join('\n')}\n`,
    );
  }
  if (figures.some((f) => f.status === 'MISS' && f.note !== null)) process.exitCode = 1;
}

main().catch((e: unknown) => {
  if (e instanceof BackendsDown || e instanceof UsageError) process.stderr.write(`bench:e2e: ${e.message}\n`);
  else process.stderr.write(`bench:e2e: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
