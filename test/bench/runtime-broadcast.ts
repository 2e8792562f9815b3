import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { MemoryLedger } from '@governor/governor/testing';
import { tenantChain, type Policy } from '@governor/contracts';
import type { GovernorRuntime, PolicyPushResult, TenantGovernor } from '@governor/governor';
import { median, nextTurn, note, provisionAll, readPolicy, since, startRuntime } from './runtime-fixture';

/** One pushPolicy to every governor. */
export interface PushRun {
  readonly policy_version: string;
  /** From the pushPolicy call to the last governor's policy swap (instrumented setter). */
  readonly swap_ms: number;
  readonly first_swap_ms: number;
  readonly swapped: number;
  /**
   * When a poller running once per event-loop turn first saw every governor on the new policy;
   * it cannot run inside the synchronous part and the microtasks after it, so it lags the swap.
   */
  readonly poll_ms: number | null;
  /** From the pushPolicy call until it resolved: every policy_upgraded receipt durable. */
  readonly resolved_ms: number;
  readonly push: Pick<
    PolicyPushResult,
    'outcome' | 'compatibility_check' | 'governors_updated' | 'governors_failed' | 'duration_ms'
  >;
}

export interface BroadcastResult {
  readonly governors: number;
  readonly provision_ms: number;
  /** Raw broadcast: runtime.list() and one field assignment per governor (median of the runs). */
  readonly raw_ms: number;
  readonly raw_runs: readonly number[];
  /** 1.1.0 first, then further minor versions; the figures are their medians. */
  readonly runs: readonly PushRun[];
  readonly swap_ms: number;
  readonly resolved_ms: number;
  /** Every run swapped and updated every governor. */
  readonly all_swapped: boolean;
  /** Tenant chains holding entitlement_active and one policy_upgraded per run afterwards. */
  readonly chains_ok: number;
  /** Raw node:crypto Ed25519 signatures of 500 bytes, as many as governors: the floor of durable receipts. */
  readonly raw_sign_ms: number;
}

const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

function rawSignMs(count: number): number {
  const key = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519, randomBytes(32)]),
    format: 'der',
    type: 'pkcs8',
  });
  const message = randomBytes(500);
  for (let i = 0; i < 500; i++) sign(null, message, key);
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    message[0] = i & 0xff;
    sign(null, message, key);
  }
  return since(start);
}

/**
 * Replaces each governor's `policy` data property with an accessor on the instance (the class is
 * untouched) that notes when it is set to `version`: the exact moment of each swap.
 */
function watchSwaps(governors: readonly TenantGovernor[], version: string) {
  const seen = { count: 0, first: 0, last: 0 };
  for (const g of governors) {
    let value = g.policy;
    Object.defineProperty(g, 'policy', {
      configurable: true,
      enumerable: true,
      get: () => value,
      set: (next: Policy) => {
        value = next;
        if (next.policy_version !== version) return;
        const now = performance.now();
        if (seen.count === 0) seen.first = now;
        seen.last = now;
        seen.count += 1;
      },
    });
  }
  return seen;
}

/** One push of professional `version` (compatible: only monthly_actions changes), instrumented. */
async function push(runtime: GovernorRuntime, version: string, monthlyActions: number): Promise<PushRun> {
  const json = readPolicy('professional', '1.0.0');
  const quotas = json.quotas as Record<string, unknown>;
  const next = { ...json, policy_version: version, quotas: { ...quotas, monthly_actions: monthlyActions } };
  const governors = runtime.list();
  const seen = watchSwaps(governors, version);
  await nextTurn();

  const start = performance.now();
  const pushed = runtime.pushPolicy(next);
  let poll_ms: number | null = null;
  const poller = (async () => {
    while (!governors.every((g) => g.policy.policy_version === version)) {
      await nextTurn();
      if (since(start) > 600_000) return;
    }
    poll_ms = since(start);
  })();
  const result = await pushed;
  const resolved_ms = since(start);
  await poller;
  const swap_ms = seen.count > 0 ? seen.last - start : Number.NaN;
  note(
    `broadcast ${version}: swapped in ${swap_ms.toFixed(1)} ms, pushPolicy resolved in ${resolved_ms.toFixed(0)} ms`,
  );
  return {
    policy_version: version,
    swap_ms,
    first_swap_ms: seen.count > 0 ? seen.first - start : Number.NaN,
    swapped: seen.count,
    poll_ms,
    resolved_ms,
    push: {
      outcome: result.outcome,
      compatibility_check: result.compatibility_check,
      governors_updated: result.governors_updated,
      governors_failed: result.governors_failed,
      duration_ms: result.duration_ms,
    },
  };
}

/**
 * Provisions `count` professional governors, then pushes a compatible professional 1.1.0 to all
 * of them, then `repeat - 1` further minor versions (1.2.0, ...), each measured alike.
 */
export async function measureBroadcast(count: number, repeat: number): Promise<BroadcastResult> {
  const ledger = new MemoryLedger();
  const { runtime } = await startRuntime(ledger);
  const provision_ms = await provisionAll(runtime, count, 'broadcast: provision', 1_000);

  // Raw broadcast: reach every governor and assign one field, as the swap itself does.
  const raw_runs: number[] = [];
  for (let run = 0; run < 7; run++) {
    const start = performance.now();
    for (const g of runtime.list()) {
      const p = g.policy;
      g.policy = p;
    }
    raw_runs.push(since(start));
  }
  const raw_ms = median(raw_runs);
  const raw_sign_ms = rawSignMs(count);
  note(
    `broadcast: raw field assignment ${raw_ms.toFixed(3)} ms, ${count} raw signs ${raw_sign_ms.toFixed(0)} ms`,
  );

  const runs: PushRun[] = [];
  for (let i = 1; i <= repeat; i++) runs.push(await push(runtime, `1.${i}.0`, 10_000 + 2_000 * i));

  let chains_ok = 0;
  for (const g of runtime.list())
    if ((await ledger.head(tenantChain(g.accountId)))?.size === 1 + repeat) chains_ok += 1;
  await runtime.stop();
  return {
    governors: count,
    provision_ms,
    raw_ms,
    raw_runs,
    runs,
    swap_ms: median(runs.map((r) => r.swap_ms)),
    resolved_ms: median(runs.map((r) => r.resolved_ms)),
    all_swapped: runs.every((r) => r.swapped === count && r.push.governors_updated === count),
    chains_ok,
    raw_sign_ms,
  };
}
