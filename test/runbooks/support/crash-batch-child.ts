import type { LedgerEntry } from '@governor/governor';
import { GovernorRuntime } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';
import { fileRuntimeDeps } from './file-stores';

// Provisions a tenant, then submits BATCH signals in one turn. Once their write-ahead is durable
// the tenant chain's next commit (their completions) never reaches the ledger: the child says
// so, with the size of each write-ahead, and waits to be killed between the two commits.
async function main(): Promise<void> {
  const batch = Number(process.env.BATCH);
  const deps = await fileRuntimeDeps(process.env.DATA_DIR as string, 'worker-a');
  const { ledger } = deps;
  const writeAheads: number[] = [];
  const startActions = ledger.startActions.bind(ledger);
  ledger.startActions = async (chain, entries) => {
    const created = await startActions(chain, entries);
    writeAheads.push(entries.length);
    return created;
  };
  let held = false;
  const append = ledger.append.bind(ledger);
  ledger.append = (chain: string, entries: readonly LedgerEntry[], head: ChainHead) => {
    if (chain !== 'tenants/acme' || writeAheads.length === 0) return append(chain, entries, head);
    held = true;
    return new Promise<void>(() => undefined);
  };
  const runtime = await GovernorRuntime.start(deps);
  const provisioned = await runtime.provision({
    entitlement_id: 'ent-acme',
    account_id: 'acme',
    sku_id: 'governor-enterprise',
    plan_type: 'enterprise',
    region: 'us-central1',
  });
  if (!provisioned.ok) throw new Error(provisioned.error);
  for (let i = 0; i < batch; i++)
    void runtime.submit({
      signal_id: `batch-${i}`,
      account_id: 'acme',
      type: 'action',
      action_kind: 'noop',
      params: {},
      published_at: Date.now(),
    });
  while (!held) await new Promise((r) => setTimeout(r, 5));
  process.stdout.write(`${JSON.stringify({ writeAheads })}\n`);
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error).stack ?? e));
  process.exit(1);
});
