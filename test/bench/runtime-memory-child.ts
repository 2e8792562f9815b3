import { MemoryLedger } from '@governor/governor/testing';
import type { StoredReceipt } from '@governor/contracts';
import type { LedgerEntry } from '@governor/governor';
import { nextTurn, note, professional, provisionAll, startRuntime } from './runtime-fixture';

/**
 * `node --expose-gc runtime-memory-child.js N`: the memory figure for one size, in a process of
 * its own so no other measurement's garbage or JIT code is in it. Prints one JSON line
 * (a MemoryChildResult) on stdout; progress on stderr.
 *
 * Every sample is taken idle, after full GCs, once RSS has settled (see `sample`), and each
 * delta is between two samples of the same, growing process:
 *   base        runtime started (worker chain, policies loaded), after a warm-up runtime was dropped
 *   governors   + N idle provisioned governors, everything they hold anywhere in the process
 *               (runtime maps, XState actor, ChainWriter, directory record, bus topic and
 *               subscription, and the MemoryLedger's copy of each entitlement_active receipt)
 *   ledgerCopy  + a second MemoryLedger filled with deep copies (fresh strings) of every chain:
 *               what the ledger's share of `governors` weighs
 *   raw         + a Map of N bare tenant records (fresh strings): the raw baseline, what an
 *               idle tenant minimally is
 */

export interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly external: number;
}

export interface MemoryChildResult {
  readonly count: number;
  readonly provision_ms: number;
  readonly base: Sample;
  readonly governors: Sample;
  readonly ledgerCopy: Sample;
  readonly raw: Sample;
  /** Sum of the string lengths of every stored record (body, leaf_hash, signature, key_id). */
  readonly ledger_record_chars: number;
  readonly ledger_records: number;
  readonly chains: number;
  readonly max_rss: number;
}

const gc = (globalThis as { gc?: () => void }).gc;

function measure(): Sample {
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, external: m.external };
}

/**
 * A sample once the process is idle: full GCs, then again every 250 ms until RSS moves by less
 * than 1% (V8 gives freed pages back to the OS a while after a GC), at most 5 s.
 */
async function sample(): Promise<Sample> {
  await nextTurn();
  let last = measure();
  const deadline = performance.now() + 5_000;
  while (performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = measure();
    const settled = Math.abs(now.rss - last.rss) < 0.01 * last.rss;
    last = now;
    if (settled) break;
  }
  return last;
}

/**
 * JIT code and lazily built schemas are not per governor: a small runtime provisions first and
 * is dropped. In a function of its own, so no register of main() keeps it reachable.
 */
async function warmUp(count: number): Promise<void> {
  const warm = await startRuntime(new MemoryLedger(), 'warm-up');
  await provisionAll(warm.runtime, count, 'memory: warm-up', 500);
  await warm.runtime.stop();
}

/** A copy that shares no string with the original. */
function deepCopy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function main(): Promise<void> {
  const count = Number(process.argv[2]);
  if (!Number.isSafeInteger(count) || count <= 0) throw new Error('usage: runtime-memory-child N');

  await warmUp(Math.min(1_000, Math.ceil(count / 10)));

  const ledger = new MemoryLedger();
  const bench = await startRuntime(ledger);
  const base = await sample();
  const provision_ms = await provisionAll(
    bench.runtime,
    count,
    `memory ${count}: provision`,
    count >= 50_000 ? 1_000 : 500,
  );
  const governors = await sample();
  if (bench.bus.outstanding !== 0) throw new Error(`${bench.bus.outstanding} deliveries outstanding`);
  note(
    `memory ${count}: +${((governors.rss - base.rss) / 2 ** 20).toFixed(1)} MB RSS, ` +
      `+${((governors.heapUsed - base.heapUsed) / 2 ** 20).toFixed(1)} MB heap`,
  );

  // The ledger's share: the same chains again, in a second ledger, sharing nothing.
  const copy = new MemoryLedger();
  let chars = 0;
  let records = 0;
  const chains = bench.runtime.chains();
  for (const chain of chains) {
    const head = await ledger.head(chain);
    if (head === null) continue;
    const entries: LedgerEntry[] = [];
    for await (const record of ledger.read(chain)) {
      chars += record.body.length + record.leaf_hash.length + record.signature.length + record.key_id.length;
      entries.push({ seq: entries.length, record: deepCopy<StoredReceipt>(record) });
    }
    records += entries.length;
    await copy.append(chain, entries, deepCopy(head));
  }
  const ledgerCopy = await sample();

  // The raw baseline: bare tenant records, nothing else.
  const bare = new Map<string, unknown>();
  for (let i = 1; i <= count; i++) {
    const ent = professional(i);
    bare.set(
      deepCopy(ent.account_id),
      deepCopy({
        ...ent,
        policy_version: '1.0.0',
        state: 'active',
        concurrency: 20,
        monthly_actions_used: 0,
      }),
    );
  }
  const raw = await sample();

  const result: MemoryChildResult = {
    count,
    provision_ms,
    base,
    governors,
    ledgerCopy,
    raw,
    ledger_record_chars: chars,
    ledger_records: records,
    chains: chains.length,
    max_rss: process.resourceUsage().maxRSS * 1024,
  };
  // Everything measured stays reachable until here.
  if (bare.size !== count || (await copy.head(chains[chains.length - 1] as string)) === null)
    throw new Error('lost state');
  await bench.runtime.stop();
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`runtime-memory-child: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
