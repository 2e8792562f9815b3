import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger } from '@governor/adapters-local';
import { tenantChain, type ReceiptFields } from '@governor/contracts';
import type { LedgerEntry, Signal } from '@governor/governor';
import { appendReceipt, emptyHead, type ChainHead } from '@governor/receipts';
import { CountingLedger } from './runtime-counting-ledger';
import {
  accountId,
  BENCH_KEY,
  median,
  nextTurn,
  note,
  perSecond,
  progress,
  provisionAll,
  since,
  startRuntime,
} from './runtime-fixture';

export interface ThroughputOptions {
  readonly tenants: number;
  readonly signals: number;
  readonly rawBatch: number;
  /** Where the temporary ledger directories go (default: the OS temp directory). */
  readonly dir: string | null;
  readonly keep: boolean;
}

export interface RawAppendResult {
  readonly chains: number;
  readonly batch: number;
  readonly receipts: number;
  readonly appends: number;
  readonly ms: number;
  readonly cpu_ms: number;
  readonly rate: number;
}

export interface BatchStats {
  readonly appends: number;
  readonly mean: number;
  readonly p50: number;
  readonly max: number;
}

export interface EndToEndResult {
  readonly tenants: number;
  readonly signals: number;
  readonly provision_ms: number;
  /** From the first submit to the last action_complete durable. */
  readonly ms: number;
  /** Until runtime.submit had been called for every signal (delivery is synchronous). */
  readonly submit_ms: number;
  readonly cpu_ms: number;
  readonly rate: number;
  readonly batches: BatchStats;
  /** Checked after the timing: every tenant chain read back. */
  readonly action_complete: number;
  readonly other_receipts: number;
  readonly heads_ok: boolean;
  readonly outstanding_deliveries: number;
  readonly alerts: number;
}

export interface ThroughputResult {
  readonly root: string;
  /** Raw FileLedger.append at `rawBatch`, before and after the end-to-end run, pooled. */
  readonly raw: RawAppendResult;
  readonly rawRuns: readonly RawAppendResult[];
  readonly e2e: EndToEndResult;
  /** Raw FileLedger.append again, at the mean batch size the ChainWriter produced end to end. */
  readonly rawAtE2eBatch: RawAppendResult;
}

function actionComplete(account: string, n: number): ReceiptFields {
  return {
    operation: 'action_complete',
    status: 'success',
    duration_ms: 0,
    account_id: account,
    action_id: `s-${n}-a${n}`,
    action_kind: 'noop',
    signal_id: `s-${n}`,
  };
}

interface PreparedChain {
  readonly chain: string;
  readonly batches: { readonly entries: LedgerEntry[]; readonly head: ChainHead }[];
}

/** Signed action_complete receipts for `chains` chains, `perChain` each after one opening receipt, in `batch`es. */
function prepare(prefix: string, chains: number, perChain: number, batch: number): PreparedChain[] {
  const out: PreparedChain[] = [];
  for (let c = 1; c <= chains; c++) {
    const account = `${prefix}${String(c).padStart(6, '0')}`;
    const chain = tenantChain(account);
    let head = emptyHead(chain);
    const build = (count: number) => {
      const entries: LedgerEntry[] = [];
      for (let i = 0; i < count; i++) {
        const fields = actionComplete(account, head.size);
        const appended = appendReceipt(head, fields, BENCH_KEY, { now: new Date() });
        entries.push({ seq: appended.body.seq, record: appended.record });
        head = appended.head;
      }
      return { entries, head };
    };
    // The first batch (one receipt, untimed) creates the chain, as entitlement_active does end to end.
    const batches = [build(1)];
    for (let left = perChain; left > 0; left -= batch) batches.push(build(Math.min(batch, left)));
    out.push({ chain, batches });
  }
  return out;
}

/**
 * Raw: FileLedger.append of prebuilt, signed entries, all chains concurrently, each chain's
 * batches one after the other (one writer per chain, as the ChainWriter does). fsync included.
 */
async function measureRawAppend(
  root: string,
  label: string,
  chains: number,
  perChain: number,
  batch: number,
): Promise<RawAppendResult> {
  const prepared = prepare(`${label}-`, chains, perChain, batch);
  const ledger = await FileLedger.open(join(root, label));
  await Promise.all(
    prepared.map(async (p) => {
      const [opening] = p.batches;
      if (opening) await ledger.append(p.chain, opening.entries, opening.head);
    }),
  );
  const timed = prepared.map((p) => ({ chain: p.chain, batches: p.batches.slice(1) }));
  const receipts = timed.reduce((n, p) => n + p.batches.reduce((m, b) => m + b.entries.length, 0), 0);
  const appends = timed.reduce((n, p) => n + p.batches.length, 0);
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    timed.map(async (p) => {
      for (const b of p.batches) await ledger.append(p.chain, b.entries, b.head);
    }),
  );
  const ms = since(start);
  const used = process.cpuUsage(cpu);
  const rate = perSecond(receipts, ms);
  note(`raw FileLedger.append, ${chains} chains × batches of ${batch}: ${Math.round(rate)} receipts/s`);
  return { chains, batch, receipts, appends, ms, cpu_ms: (used.user + used.system) / 1000, rate };
}

function statsOf(batches: readonly number[]): BatchStats {
  return {
    appends: batches.length,
    mean: batches.reduce((a, b) => a + b, 0) / Math.max(1, batches.length),
    p50: batches.length > 0 ? median(batches) : 0,
    max: Math.max(0, ...batches),
  };
}

/** End to end: signals → noop actions → action_complete receipts durable in a FileLedger. */
async function measureEndToEnd(root: string, tenants: number, signals: number): Promise<EndToEndResult> {
  const ledger = new CountingLedger(await FileLedger.open(join(root, 'e2e')));
  const bench = await startRuntime(ledger);
  const { runtime } = bench;
  const provision_ms = await provisionAll(runtime, tenants, 'e2e: provision', tenants);
  ledger.reset();

  const accounts = Array.from({ length: tenants }, (_, i) => accountId(i + 1));
  const durable = ledger.durable(signals);
  // Delivery is synchronous and a noop action settles in microtasks, so this loop runs every
  // action as it goes and yields to no timer or flush: receipts become durable after it.
  const submitted = progress('e2e: submitted and run', signals);
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (let n = 0; n < signals; n++) {
    const signal: Signal = {
      signal_id: `s-${n}`,
      account_id: accounts[n % tenants] as string,
      type: 'action',
      action_kind: 'noop',
      params: {},
      published_at: Date.now(),
    };
    await runtime.submit(signal);
    submitted(n + 1);
  }
  const submit_ms = since(start);
  let reported = 0;
  const ticker = setInterval(() => {
    if (ledger.tenantEntries - reported >= signals / 10 || ledger.tenantEntries === signals) {
      reported = ledger.tenantEntries;
      note(
        `e2e: ${reported.toLocaleString('en-US')}/${signals.toLocaleString('en-US')} durable (${(since(start) / 1000).toFixed(1)} s)`,
      );
    }
  }, 250);
  await durable;
  const ms = since(start);
  const used = process.cpuUsage(cpu);
  clearInterval(ticker);
  const batches = statsOf(ledger.batches);
  const rate = perSecond(signals, ms);
  note(`e2e: ${Math.round(rate)} receipts/s, ${batches.appends} appends of mean ${batches.mean.toFixed(1)}`);

  // Checked after the timing: acks settle, every chain holds its receipts and nothing else.
  for (let i = 0; i < 20 && bench.bus.outstanding > 0; i++) await nextTurn();
  let complete = 0;
  let other = 0;
  let headsOk = true;
  const perTenant = Math.floor(signals / tenants);
  for (const [i, account] of accounts.entries()) {
    const chain = tenantChain(account);
    const expected = 1 + perTenant + (i < signals % tenants ? 1 : 0);
    if ((await ledger.head(chain))?.size !== expected) headsOk = false;
    for await (const record of ledger.read(chain)) {
      const op = (JSON.parse(record.body) as { operation: string }).operation;
      if (op === 'action_complete') complete += 1;
      else if (op !== 'entitlement_active') other += 1;
    }
  }
  const outstanding = bench.bus.outstanding;
  await runtime.stop();
  return {
    tenants,
    signals,
    provision_ms,
    ms,
    submit_ms,
    cpu_ms: (used.user + used.system) / 1000,
    rate,
    batches,
    action_complete: complete,
    other_receipts: other,
    heads_ok: headsOk,
    outstanding_deliveries: outstanding,
    alerts: bench.alerts.alerts.length,
  };
}

function pooled(runs: readonly RawAppendResult[]): RawAppendResult {
  const first = runs[0] as RawAppendResult;
  const receipts = runs.reduce((n, r) => n + r.receipts, 0);
  const ms = runs.reduce((n, r) => n + r.ms, 0);
  return {
    ...first,
    receipts,
    appends: runs.reduce((n, r) => n + r.appends, 0),
    ms,
    cpu_ms: runs.reduce((n, r) => n + r.cpu_ms, 0),
    rate: perSecond(receipts, ms),
  };
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { tenants, signals, rawBatch } = options;
  const root = await mkdtemp(join(options.dir ?? tmpdir(), 'governor-runtime-bench-'));
  note(`throughput: FileLedger root ${root}`);
  try {
    const perChain = Math.ceil(signals / tenants);
    // The raw baseline runs before and after the end-to-end run and is pooled, so a disk that
    // speeds up or slows down during the run does not land on one side of the ratio only.
    const before = await measureRawAppend(root, 'raw-a', tenants, perChain, rawBatch);
    const e2e = await measureEndToEnd(root, tenants, signals);
    const after = await measureRawAppend(root, 'raw-b', tenants, perChain, rawBatch);
    const atE2e = await measureRawAppend(
      root,
      'raw-c',
      tenants,
      perChain,
      Math.max(1, Math.round(e2e.batches.mean)),
    );
    return { root, raw: pooled([before, after]), rawRuns: [before, after], e2e, rawAtE2eBatch: atE2e };
  } finally {
    if (!options.keep) await rm(root, { recursive: true, force: true });
  }
}
