import { tenantChain } from '@governor/contracts';
import type { ReceiptLedger } from '@governor/governor';
import { formatIssue, Keyring, verifyLines } from '@governor/receipts';
import { inWindows } from './e2e-raw';
import { BENCH_KEYS, n, note } from './e2e-support';

export interface ChainCheck {
  readonly chains: number;
  /** Chains read back whose receipts all verify (hashes, links, signatures, contiguous seqs). */
  readonly chains_ok: number;
  readonly receipts: number;
  readonly expected_receipts: number;
  /** Published signals with exactly one action_complete receipt. */
  readonly signals_done: number;
  readonly signals: number;
  readonly lost: number;
  readonly duplicates: number;
  /** Receipts that are neither the opening entitlement_active nor a published signal's action_complete. */
  readonly unexpected: number;
  readonly heads_ok: boolean;
  readonly issues: readonly string[];
}

/**
 * Reads every tenant chain back from Firestore and checks it: verifyLines (canonical bytes, hash
 * links, signatures, seqs 0..n-1 with no gap), the stored head at the chain's end, and exactly
 * one action_complete per published signal: nothing lost, nothing twice, nothing else.
 */
export async function checkChains(
  ledger: ReceiptLedger,
  published: ReadonlyMap<string, readonly string[]>,
): Promise<ChainCheck> {
  const keyring = new Keyring(BENCH_KEYS);
  const issues: string[] = [];
  let chainsOk = 0;
  let receipts = 0;
  let expected = 0;
  let done = 0;
  let signals = 0;
  let lost = 0;
  let duplicates = 0;
  let unexpected = 0;
  let headsOk = true;
  await inWindows([...published.entries()], 10, async ([account, ids]) => {
    const chain = tenantChain(account);
    const lines: string[] = [];
    const seen = new Map<string, number>();
    let other = 0;
    for await (const record of ledger.read(chain)) {
      lines.push(JSON.stringify(record));
      const body = JSON.parse(record.body) as { operation: string; seq: number; signal_id?: string };
      if (body.operation === 'action_complete' && body.signal_id !== undefined)
        seen.set(body.signal_id, (seen.get(body.signal_id) ?? 0) + 1);
      else if (!(body.operation === 'entitlement_active' && body.seq === 0)) other += 1;
    }
    const report = await verifyLines(lines, { keyring, expectedChain: chain, threads: 0 });
    const want = 1 + ids.length;
    const head = await ledger.head(chain);
    if (head?.size !== lines.length || head.head_hash !== report.head_hash) headsOk = false;
    let chainDone = 0;
    for (const id of ids) {
      const times = seen.get(id) ?? 0;
      if (times === 0) lost += 1;
      else chainDone += 1;
      if (times > 1) duplicates += times - 1;
      seen.delete(id);
    }
    other += [...seen.values()].reduce((a, b) => a + b, 0);
    receipts += lines.length;
    expected += want;
    done += chainDone;
    signals += ids.length;
    unexpected += other;
    if (report.ok && lines.length === want && chainDone === ids.length && other === 0) chainsOk += 1;
    else if (issues.length < 5)
      issues.push(
        `${chain}: ${lines.length}/${want} receipts, ${chainDone}/${ids.length} signals, ${other} unexpected, ` +
          `${report.issues.length} issues${report.issues[0] ? ` (${formatIssue(report.issues[0])})` : ''}`,
      );
  });
  note(`checked ${published.size} chains: ${n(receipts)} receipts, ${chainsOk} chains ok`);
  return {
    chains: published.size,
    chains_ok: chainsOk,
    receipts,
    expected_receipts: expected,
    signals_done: done,
    signals,
    lost,
    duplicates,
    unexpected,
    heads_ok: headsOk,
    issues,
  };
}
