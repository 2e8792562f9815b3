import { tenantChain } from '@governor/contracts';
import { formatIssue, verifyLines } from '@governor/receipts';
import type { Run } from './setup';

/** What a run must not do, whatever its speed: fork a chain, lose a signal or complete one twice. */

export interface Check {
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
export async function checkChains(run: Run): Promise<Check> {
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

export const checkOk = (c: Check): boolean =>
  c.lost === 0 && c.duplicates === 0 && c.forks === 0 && c.bad_heads === 0;
