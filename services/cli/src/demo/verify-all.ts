import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { Operation } from '@governor/contracts';
import type { ArchiveStore, CheckpointWitness, ReceiptLedger } from '@governor/governor';
import { verifyArchive, verifyLines, type Keyring } from '@governor/receipts';
import { noteSize } from '../receipt-proof';

export const RUNBOOKS: readonly { id: number; name: string; operations: readonly Operation[] }[] = [
  { id: 1, name: 'deploy new SKU', operations: ['entitlement_active', 'entitlement_failed'] },
  {
    id: 2,
    name: 'upgrade policy',
    operations: [
      'policy_validation_failed',
      'policy_upgrade_skipped',
      'policy_upgraded',
      'policy_rollback',
      'policy_forced',
    ],
  },
  { id: 3, name: 'scale governor', operations: ['governor_scaled', 'quota_exceeded', 'scale_reverted'] },
  { id: 4, name: 'degrade to safe mode', operations: ['degraded_mode', 'degraded_mode_cleared'] },
  {
    id: 5,
    name: 'recover from action failure',
    operations: [
      'action_complete',
      'action_timeout',
      'action_rolled_back',
      'action_failed',
      'action_refused',
    ],
  },
  {
    id: 6,
    name: 'entitlement lifecycle',
    operations: ['entitlement_active', 'plan_changed', 'plan_change_refused'],
  },
  { id: 7, name: 'customer cancels', operations: ['decommission_start', 'decommission_complete'] },
];

export interface ChainResult {
  readonly chain: string;
  readonly count: number;
  readonly ok: boolean;
  readonly issues: number;
  readonly export_path: string;
  readonly operations: Partial<Record<Operation, number>>;
  /** With a witness: the size of the chain's latest witnessed checkpoint, or null for none. */
  readonly witnessed?: number | null;
}

export interface DemoReport {
  readonly ok: boolean;
  readonly chains: ChainResult[];
  readonly archives: { path: string; ok: boolean; receipts: number }[];
  readonly runbooks: {
    id: number;
    name: string;
    receipts: number;
    operations: Partial<Record<Operation, number>>;
    verified: boolean;
  }[];
}

/**
 * Exports and verifies every chain and archive the demo wrote, and sums receipts per runbook.
 * Each chain is checked against the ledger's latest checkpoint and, with a witness, the latest
 * witnessed one.
 */
export async function verifyAll(
  ledger: ReceiptLedger,
  archive: ArchiveStore,
  chains: string[],
  archives: { name: string; path: string }[],
  keyring: Keyring,
  exportDir: string,
  witness?: CheckpointWitness,
): Promise<DemoReport> {
  const results: ChainResult[] = [];
  for (const chain of chains) {
    const lines: string[] = [];
    const operations: Partial<Record<Operation, number>> = {};
    for await (const record of ledger.read(chain)) {
      const line = JSON.stringify(record);
      lines.push(line);
      const op = (JSON.parse(record.body) as { operation: Operation }).operation;
      operations[op] = (operations[op] ?? 0) + 1;
    }
    const checkpoint = await ledger.latestCheckpoint(chain);
    const witnessed = witness ? await witness.latest(chain) : null;
    const checkpoints = [checkpoint, witnessed].filter(
      (note, i, all): note is string => note !== null && all.indexOf(note) === i,
    );
    const report = await verifyLines(lines, { keyring, expectedChain: chain, threads: 0, checkpoints });
    const exportPath = join(exportDir, `${chain}.jsonl`);
    await fs.mkdir(dirname(exportPath), { recursive: true });
    await fs.writeFile(exportPath, lines.join('\n') + '\n');
    results.push({
      chain,
      count: lines.length,
      ok: report.ok,
      issues: report.issues.length,
      export_path: exportPath,
      operations,
      ...(witness ? { witnessed: witnessed === null ? null : noteSize(witnessed) } : {}),
    });
  }
  const archiveResults: DemoReport['archives'] = [];
  for (const { name, path } of archives) {
    const bytes = await archive.get(name);
    if (!bytes) {
      archiveResults.push({ path, ok: false, receipts: 0 });
      continue;
    }
    const report = await verifyArchive(Readable.from([bytes]), { keyring, threads: 0 });
    archiveResults.push({ path, ok: report.ok, receipts: report.manifest?.count ?? 0 });
  }
  const runbooks = RUNBOOKS.map((rb) => {
    const operations: Partial<Record<Operation, number>> = {};
    let verified = true;
    for (const c of results) {
      for (const op of rb.operations) {
        const n = c.operations[op] ?? 0;
        if (n === 0) continue;
        operations[op] = (operations[op] ?? 0) + n;
        verified &&= c.ok;
      }
    }
    if (rb.id === 7) verified &&= archiveResults.every((a) => a.ok);
    const receipts = Object.values(operations).reduce((a, b) => a + b, 0);
    return { id: rb.id, name: rb.name, receipts, operations, verified: verified && receipts > 0 };
  });
  return {
    ok: results.every((c) => c.ok) && archiveResults.every((a) => a.ok) && runbooks.every((r) => r.verified),
    chains: results,
    archives: archiveResults,
    runbooks,
  };
}
