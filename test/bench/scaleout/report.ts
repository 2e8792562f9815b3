import { n } from '../e2e-support';
import { figure, num, renderTable, type Figure, type Target } from '../report';
import { alignedTable } from '../support/table';
import type { Args } from './args';
import { checkOk, type Check } from './check';
import { STALL_MS } from './completion';
import { POLL_MS, PUBLISH_WINDOW, TAKEOVER_POLL_MS, type Throughput } from './load';
import type { Takeover } from './takeover';
import { c2, verdict } from './verdict';
import { WORKER_MAIN } from './worker';

/** The figures against their targets, the per-run table and the footnotes that explain them. */

const TARGETS = {
  scale: { op: '>=', value: 1.6, unit: '×', onRatio: true },
  perCpu: { op: '>=', value: 0.9, unit: '×', onRatio: true },
  zero: { op: '<=', value: 0, unit: '', onRatio: false },
} as const satisfies Record<string, Target>;

const msTarget = (leaseMs: number): Target => ({
  op: '<=',
  value: leaseMs + 2_000,
  unit: 'ms',
  onRatio: false,
});

export interface Measurements {
  /** One worker, before and after the two-worker run: the faster is the baseline. */
  readonly one: readonly [Throughput, Throughput];
  readonly two: Throughput;
  readonly takeover: Takeover | null;
  readonly takeoverError: string | null;
}

const baselineOf = (m: Measurements): Throughput => (m.one[0].rate >= m.one[1].rate ? m.one[0] : m.one[1]);

/** Signals per CPU-second the workers of a run spent together (cores are CPU-seconds per second). */
export function perWorkerCpuSecond(r: Throughput): number {
  const cores = r.workers.reduce((sum, w) => sum + (r.cores[w] ?? 0), 0);
  return cores > 0 ? r.rate / cores : 0;
}

/** LEASE_LOST alerts in a run's worker logs: a tenant that changed hands although no worker stopped. */
export function leaseChanges(r: Throughput): number {
  return Object.values(r.logProblems).reduce((sum, p) => sum + (p.LEASE_LOST ?? 0), 0);
}
export const allChecks = (m: Measurements): Check[] => [
  ...m.one.map((r) => r.check),
  m.two.check,
  ...(m.takeover ? [m.takeover.check] : []),
];

export function figuresOf(m: Measurements, args: Args, cpus: number): Figure[] {
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
  const perCpu = figure(
    `signals per worker CPU-second, two workers vs one`,
    { label: 'two workers', value: perWorkerCpuSecond(two), unit: 'signals/CPU-s' },
    { label: `one worker (${one.label})`, value: perWorkerCpuSecond(one), unit: 'signals/CPU-s' },
    TARGETS.perCpu,
    valid([one.check, two.check], one.completed && two.completed),
  );
  const steady = [...m.one, two];
  const changes = figure(
    `lease changes during steady load (LEASE_LOST in the worker logs, ${steady.length} throughput runs)`,
    { label: 'changes', value: steady.reduce((sum, r) => sum + leaseChanges(r), 0), unit: '' },
    null,
    TARGETS.zero,
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
    perCpu,
    changes,
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

const RUN_NAMES: Readonly<Record<string, string>> = {
  'one-before': '1 worker, before',
  two: '2 workers',
  'one-after': '1 worker, after',
};

export function phaseTable(m: Measurements, cpus: number): string {
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

export const leaseText = (m: Measurements): string => {
  const leases = [...new Set([...m.one, m.two].map((r) => r.lease_ms))];
  return leases.map((l) => (l === null ? '?' : `${n(l)} ms`)).join(', ');
};

const msList = (xs: readonly (number | null)[]): string =>
  xs.map((x) => (x === null ? 'never' : n(x))).join(', ');

export function footnotes(m: Measurements, args: Args, cpus: number): string[] {
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
    const lostLeases = leaseChanges(r);
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

export function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1000) / 1000 : value;
}

/** Run context printed above the tables and kept in the JSON. */
export interface Context {
  readonly node: string;
  readonly cpus: number;
  readonly available_parallelism: number;
  readonly cpu_model: string;
  readonly load: readonly number[];
  readonly duration_s: number;
}

/** The tables and footnotes (or with --json, one JSON object) on stdout. */
export function writeReport(
  m: Measurements,
  figures: readonly Figure[],
  args: Args,
  cpus: number,
  context: Context,
  valid: boolean,
): void {
  if (args.json) {
    const json = {
      ...context,
      args,
      pass: figures.every((f) => f.status !== 'MISS'),
      valid,
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
}
