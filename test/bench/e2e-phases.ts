import { tenantChain } from '@governor/contracts';
import {
  ChainWriter,
  GovernorRuntime,
  noopHandler,
  systemClock,
  type ReceiptLedger,
  type ReceiptSpool,
  type Signal,
} from '@governor/governor';
import type { GcpStores } from '@governor/adapters-gcp';
import { ObservingBus, ObservingLedger } from './e2e-observe';
import { actionComplete, watch } from './e2e-raw';
import {
  accountId,
  BENCH_KEY,
  BENCH_KEYS,
  coresBetween,
  CountingAlerts,
  n,
  noopSignal,
  note,
  perSecond,
  since,
  sleep,
  spread,
  type CpuMeter,
  type Spread,
} from './e2e-support';

export interface Bench {
  readonly runtime: GovernorRuntime;
  readonly ledger: ObservingLedger;
  readonly bus: ObservingBus;
  readonly alerts: CountingAlerts;
  readonly accounts: readonly string[];
  /** Signals published per account (warm-up included), for the check at the end. */
  readonly published: Map<string, string[]>;
  readonly provision_ms: number;
}

/**
 * The GovernorRuntime wired as services/worker wires it on GCP (Firestore ledger and directory,
 * Pub/Sub bus, GCS registry and witness, a local file spool), observed, with `tenants`
 * professional tenants provisioned through runtime.provision, 20 at a time. No health monitor
 * or lag observer: their timers would add safe-mode and scaling receipts to a throughput run.
 */
export async function startBench(
  stores: GcpStores,
  workerId: string,
  tenants: number,
  spool: ReceiptSpool,
): Promise<Bench> {
  const ledger = new ObservingLedger(stores.ledger);
  const bus = new ObservingBus(stores.bus);
  const alerts = new CountingAlerts();
  const runtime = await GovernorRuntime.start({
    workerId,
    ledger,
    directory: stores.directory,
    bus,
    archive: stores.archive,
    registry: stores.registry,
    witness: stores.witness,
    spool,
    handlers: { noop: noopHandler, http: noopHandler },
    alerts,
    clock: systemClock,
    signer: BENCH_KEY,
    keys: BENCH_KEYS,
  });
  const accounts = Array.from({ length: tenants }, (_, i) => accountId('t', i + 1));
  const start = performance.now();
  let done = 0;
  for (let lo = 0; lo < tenants; lo += 20) {
    const results = await Promise.all(
      accounts.slice(lo, lo + 20).map((account_id) =>
        runtime.provision({
          entitlement_id: `ent-${account_id}`,
          account_id,
          sku_id: 'governor-professional',
          plan_type: 'professional',
          region: 'us-central1',
        }),
      ),
    );
    const failed = results.find((r) => !r.ok);
    if (failed) throw new Error(`provisioning failed: ${failed.error ?? 'unknown'}`);
    done += results.length;
    if (done % Math.max(20, Math.ceil(tenants / 5 / 20) * 20) === 0 || done === tenants)
      note(`provisioned ${done}/${tenants} (${(since(start) / 1000).toFixed(1)} s)`);
  }
  const provision_ms = since(start);
  const bench = { runtime, ledger, bus, alerts, accounts, published: new Map(), provision_ms };
  // One signal per tenant before anything is timed: every subscription's stream is open.
  await Promise.all(accounts.map((a, i) => submit(bench, noopSignal(`w-${i}`, a))));
  if (!(await watch(ledger.until(tenants), () => ledger.complete, tenants, 'warm-up')))
    throw new Error(`warm-up: only ${ledger.complete} of ${tenants} signals reached a durable receipt`);
  return bench;
}

function submit(bench: Bench, signal: Signal): Promise<void> {
  const list = bench.published.get(signal.account_id);
  if (list) list.push(signal.signal_id);
  else bench.published.set(signal.account_id, [signal.signal_id]);
  return bench.runtime.submit(signal);
}

export interface Breakdown {
  /** Publish (scheduled time in the latency phase) → first delivery to the governor. */
  readonly publish_to_delivery: Spread;
  /** Delivery → action_complete durable. */
  readonly delivery_to_durable: Spread;
  /** action_complete durable → ack. */
  readonly durable_to_ack: Spread;
  /** Tenant-chain ledger commits (one Firestore batch each) and action-log writes. */
  readonly commit: Spread;
  /** Action-log write-aheads (one Firestore commit each) and the actions each carried. */
  readonly write_ahead: Spread;
  readonly write_ahead_mean: number;
  readonly batch_mean: number;
  readonly batch_max: number;
  /** Firestore commits per signal: its share of a write-ahead and of a ledger commit. */
  readonly commits_per_signal: number;
}

function breakdown(bench: Bench, ids: readonly string[], sentAt: (i: number) => number): Breakdown {
  const { bus, ledger } = bench;
  const toDelivery: number[] = [];
  const toDurable: number[] = [];
  const toAck: number[] = [];
  ids.forEach((id, i) => {
    const delivered = bus.deliveredAt.get(id);
    const durable = ledger.durableAt.get(id);
    const acked = bus.ackedAt.get(id);
    if (delivered !== undefined) toDelivery.push(delivered - sentAt(i));
    if (delivered !== undefined && durable !== undefined) toDurable.push(durable - delivered);
    if (durable !== undefined && acked !== undefined) toAck.push(acked - durable);
  });
  const batches = ledger.batches;
  return {
    publish_to_delivery: spread(toDelivery),
    delivery_to_durable: spread(toDurable),
    durable_to_ack: spread(toAck),
    commit: spread(ledger.commitMs),
    write_ahead: spread(ledger.startMs),
    write_ahead_mean: ledger.startSizes.reduce((a, b) => a + b, 0) / Math.max(1, ledger.startSizes.length),
    batch_mean: batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length),
    batch_max: batches.reduce((a, b) => Math.max(a, b), 0),
    commits_per_signal: (ledger.startMs.length + batches.length) / Math.max(1, ids.length),
  };
}

export interface ThroughputResult {
  readonly tenants: number;
  readonly signals: number;
  /** Signals whose action_complete became durable before the phase gave up waiting. */
  readonly durable: number;
  /** First publish → last action_complete durable. */
  readonly ms: number;
  readonly rate: number;
  /** First publish → last ack (the ack follows the receipt and the action-log update). */
  readonly ack_ms: number | null;
  readonly ack_rate: number | null;
  readonly publish_ms: number;
  readonly commits: number;
  /** action_complete receipts committed per second in this phase. */
  readonly receipts_rate: number;
  readonly breakdown: Breakdown;
  readonly cores: Record<string, number | null>;
}

/** Phase 1: `signals` noop signals submitted at once, round-robin, until every receipt is durable. */
export async function measureThroughput(
  bench: Bench,
  signals: number,
  cpu: CpuMeter,
): Promise<ThroughputResult> {
  const { ledger, bus, accounts } = bench;
  const base = ledger.complete;
  const ackBase = bus.acked;
  ledger.reset();
  const ids = Array.from({ length: signals }, (_, k) => `e-${k}`);
  const before = cpu.read();
  const start = performance.now();
  const publishes: Promise<void>[] = [];
  for (let k = 0; k < signals; k++)
    publishes.push(submit(bench, noopSignal(ids[k] as string, accounts[k % accounts.length] as string)));
  const publishing = Promise.all(publishes).then(() => since(start));
  await watch(ledger.until(base + signals), () => ledger.complete - base, signals, 'e2e');
  const durables = ids.flatMap((id) => ledger.durableAt.get(id) ?? []);
  const lastDurable = durables.reduce((a, b) => Math.max(a, b), start);
  const ms = lastDurable - start;
  const cores = coresBetween(before, cpu.read(), ms);
  const publish_ms = await publishing;
  const acked = await bus.untilAcked(ackBase + signals, durables.length === signals ? 30_000 : 1_000);
  const lastAck = acked ? ids.reduce((a, id) => Math.max(a, bus.ackedAt.get(id) ?? 0), start) : null;
  const rate = perSecond(durables.length, ms);
  note(`e2e: ${n(rate)} signals/s, ${n(ledger.batches.length)} commits`);
  return {
    tenants: accounts.length,
    signals,
    durable: durables.length,
    ms,
    rate,
    ack_ms: lastAck === null ? null : lastAck - start,
    ack_rate: lastAck === null ? null : perSecond(signals, lastAck - start),
    publish_ms,
    commits: ledger.batches.length,
    receipts_rate: perSecond(
      ledger.batches.reduce((a, b) => a + b, 0),
      ms,
    ),
    breakdown: breakdown(bench, ids, () => start),
    cores,
  };
}

export interface LatencyResult {
  readonly offered_rate: number;
  readonly seconds: number;
  readonly signals: number;
  readonly durable: number;
  /** First scheduled publish → last action_complete durable. */
  readonly ms: number;
  /** Scheduled publish time → action_complete durable, ms. */
  readonly latency: Spread;
  /** Signals durable per second, from the first scheduled publish to the last durable. */
  readonly achieved_rate: number;
  /** Signals published per second, from the first scheduled publish to the last publish call. */
  readonly publish_rate: number;
  /** How late the scheduler issued a publish, at worst and at p99 (ms). */
  readonly max_late_ms: number;
  readonly p99_late_ms: number;
  readonly breakdown: Breakdown;
  readonly cores: Record<string, number | null>;
}

/**
 * Phase 3: open loop. Signal k is due at start + k/rate and published when due, whatever is
 * still in flight; its latency runs from when it was due (not from when the publish happened
 * to be issued) to its action_complete durable, so a stalled scheduler shows up as latency.
 */
export async function measureLatency(
  bench: Bench,
  rate: number,
  seconds: number,
  cpu: CpuMeter,
): Promise<LatencyResult> {
  const { ledger, accounts } = bench;
  const count = Math.max(1, Math.round(rate * seconds));
  const base = ledger.complete;
  ledger.reset();
  const ids = Array.from({ length: count }, (_, k) => `l-${k}`);
  const due = (k: number) => start + (k * 1000) / rate;
  const late: number[] = [];
  const publishes: Promise<void>[] = [];
  let failed = 0;
  const before = cpu.read();
  const start = performance.now();
  let lastPublish = start;
  let next = 0;
  let reported = start;
  while (next < count) {
    const now = performance.now();
    while (next < count && due(next) <= now) {
      late.push(now - due(next));
      publishes.push(
        submit(bench, noopSignal(ids[next] as string, accounts[next % accounts.length] as string)).catch(
          () => {
            failed += 1;
          },
        ),
      );
      next += 1;
      lastPublish = now;
    }
    if (now - reported >= 2_000) {
      reported = now;
      note(`latency: ${n(next)}/${n(count)} published, ${n(ledger.complete - base)} durable`);
    }
    await sleep(1);
  }
  await Promise.all(publishes);
  if (failed > 0) throw new Error(`latency: ${failed} publishes failed`);
  await watch(ledger.until(base + count), () => ledger.complete - base, count, 'latency');
  const durables = ids.map((id) => ledger.durableAt.get(id));
  const lastDurable = durables.reduce<number>((a, d) => Math.max(a, d ?? 0), start);
  const cores = coresBetween(before, cpu.read(), lastDurable - start);
  const latencies = durables.flatMap((d, k) => (d === undefined ? [] : [d - due(k)]));
  const latency = spread(latencies);
  const lateSpread = spread(late);
  note(`latency: p50 ${latency.p50.toFixed(0)} ms, p99 ${latency.p99.toFixed(0)} ms`);
  return {
    offered_rate: rate,
    seconds,
    signals: count,
    durable: latencies.length,
    ms: lastDurable - start,
    latency,
    achieved_rate: perSecond(latencies.length, lastDurable - start),
    publish_rate: perSecond(count, lastPublish - start + 1000 / rate),
    max_late_ms: lateSpread.max,
    p99_late_ms: lateSpread.p99,
    breakdown: breakdown(bench, ids, due),
    cores,
  };
}

export interface LedgerOnlyResult {
  readonly chains: number;
  readonly batch: number;
  readonly receipts: number;
  readonly ms: number;
  readonly rate: number;
  readonly commit: Spread;
  readonly cores: Record<string, number | null>;
}

/**
 * Phase 2, the ledger alone: a ChainWriter per chain on the same FirestoreLedger, each emitting
 * `batch` action_complete receipts in one turn (one group commit) and waiting for them to be
 * durable before the next, `perChain` in all, every chain at once. The opening receipt of each
 * chain (which creates its head document) is not timed.
 */
export async function measureLedgerOnly(
  ledger: ReceiptLedger,
  chains: number,
  perChain: number,
  batch: number,
  cpu: CpuMeter,
): Promise<LedgerOnlyResult> {
  const observed = new ObservingLedger(ledger, false);
  const writers = await Promise.all(
    Array.from({ length: chains }, (_, c) =>
      ChainWriter.open(tenantChain(accountId('l', c + 1)), observed, BENCH_KEY, systemClock),
    ),
  );
  await Promise.all(
    writers.map(
      (w, c) =>
        w.emit({
          operation: 'entitlement_active',
          status: 'success',
          duration_ms: 0,
          account_id: accountId('l', c + 1),
          entitlement_id: `ent-l-${c + 1}`,
          sku_id: 'governor-professional',
          region: 'us-central1',
          plan_type: 'professional',
          policy_version: '1.0.0',
          fsm_id: `governor-l-${c + 1}`,
          resources: {
            fsm_id: `governor-l-${c + 1}`,
            pubsub_topic: `tenants.l-${c + 1}.signals`,
            firestore_path: `/tenants/l-${c + 1}`,
          },
          quota: { monthly_actions: 10000, concurrent_actions: 20 },
        }).durable,
    ),
  );
  observed.reset();
  let written = 0;
  const before = cpu.read();
  const start = performance.now();
  const all = Promise.all(
    writers.map(async (w, c) => {
      const account = accountId('l', c + 1);
      for (let i = 0; i < perChain; i += batch) {
        let last: Promise<void> = Promise.resolve();
        const size = Math.min(batch, perChain - i);
        for (let j = 0; j < size; j++) last = w.emit(actionComplete(account, c * perChain + i + j)).durable;
        await last;
        written += size;
      }
    }),
  ).then(() => undefined);
  if (!(await watch(all, () => written, chains * perChain, 'ledger-only')))
    throw new Error(`ledger-only: commits stalled at ${written} of ${chains * perChain}`);
  const ms = since(start);
  const cores = coresBetween(before, cpu.read(), ms);
  const rate = perSecond(chains * perChain, ms);
  note(`ledger-only: ${n(rate)} receipts/s in commits of ${batch}`);
  return {
    chains,
    batch,
    receipts: chains * perChain,
    ms,
    rate,
    commit: spread(observed.commitMs),
    cores,
  };
}
