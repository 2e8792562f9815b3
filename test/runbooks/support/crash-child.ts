import { GovernorRuntime } from '@governor/governor';
import { fileRuntimeDeps } from './file-stores';

// Provisions a tenant, starts an action that never answers, says so, and waits to be killed.
async function main(): Promise<void> {
  const deps = await fileRuntimeDeps(process.env.DATA_DIR as string, 'worker-a');
  const runtime = await GovernorRuntime.start(deps);
  const provisioned = await runtime.provision({
    entitlement_id: 'ent-acme',
    account_id: 'acme',
    sku_id: 'governor-professional',
    plan_type: 'professional',
    region: 'us-central1',
  });
  if (!provisioned.ok) throw new Error(provisioned.error);
  await runtime.submit({
    signal_id: 'slow-1',
    account_id: 'acme',
    type: 'action',
    action_kind: 'webhook',
    params: { mode: 'slow' },
    published_at: Date.now(),
  });
  while ((await deps.ledger.runningActions('tenants/acme')).length === 0)
    await new Promise((r) => setTimeout(r, 5));
  process.stdout.write('running\n');
  setInterval(() => undefined, 60_000);
}

main().catch((e: unknown) => {
  process.stderr.write(String((e as Error).stack ?? e));
  process.exit(1);
});
