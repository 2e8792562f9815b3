import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicyInput } from '@governor/contracts';
import {
  GovernorRuntime,
  HealthMonitor,
  systemClock,
  type Signal,
  type RuntimeDeps,
} from '@governor/governor';
import type { FaultLedger } from './fault-ledger';

export interface ScenarioDeps extends Omit<RuntimeDeps, 'ledger'> {
  readonly ledger: FaultLedger;
  /** Where the plan policies live (the repo's policies/ folder). */
  readonly policiesDir: string;
}

const TENANTS = [
  { account_id: 'acme', plan_type: 'starter' },
  { account_id: 'globex', plan_type: 'professional' },
  { account_id: 'initech', plan_type: 'enterprise' },
] as const;

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`demo: timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Runs every runbook once on the given stores, as a marketplace, a GitOps pipeline, an
 * operator and an outage would drive them. Progress goes to `say`.
 */
export async function runScenario(
  deps: ScenarioDeps,
  say: (line: string) => void,
): Promise<{ runtime: GovernorRuntime; archives: { name: string; path: string }[] }> {
  const runtime = await GovernorRuntime.start(deps);
  let n = 0;
  const signal = (account_id: string, fields: Partial<Signal>): Signal => ({
    signal_id: `demo-${n++}`,
    account_id,
    type: 'action',
    published_at: Date.now(),
    ...fields,
  });
  const receiptsOf = async (account: string) => {
    const head = await deps.ledger.head(`tenants/${account}`);
    return head?.size ?? 0;
  };

  say('runbooks 1+6: provisioning three tenants on different plans, and one on a plan that does not exist');
  for (const t of TENANTS) {
    const result = await runtime.provision({
      entitlement_id: `ent-${t.account_id}`,
      account_id: t.account_id,
      sku_id: `governor-${t.plan_type}`,
      plan_type: t.plan_type,
      region: 'us-central1',
    });
    if (!result.ok) throw new Error(`demo: provisioning ${t.account_id} failed: ${result.error ?? ''}`);
  }
  await runtime.provision({
    entitlement_id: 'ent-umbrella',
    account_id: 'umbrella',
    sku_id: 'governor-platinum',
    plan_type: 'platinum',
    region: 'us-central1',
  });

  say('runbook 5: fast, slow (times out, rolls back) and failing (recoverable and not) actions');
  const before = await receiptsOf('globex');
  for (let i = 0; i < 5; i++) await runtime.submit(signal('globex', { action_kind: 'noop' }));
  await runtime.submit(signal('globex', { action_kind: 'webhook', params: { mode: 'slow' } }));
  await runtime.submit(signal('globex', { action_kind: 'webhook', params: { mode: 'fail' } }));
  await runtime.submit(signal('globex', { action_kind: 'report', params: { mode: 'fail' } }));
  // 5 complete + timeout/rollback + failed/rollback + failed (escalated) = 10 receipts.
  await waitFor('the actions to settle', async () => (await receiptsOf('globex')) >= before + 10);

  say('runbook 3: scaling globex within its quota and acme beyond it');
  await runtime.submit(signal('globex', { type: 'scale', concurrency: 50 }));
  await runtime.submit(signal('acme', { type: 'scale', concurrency: 100 }));
  await waitFor('the scale decisions', () => runtime.get('globex')?.record.concurrency === 50);
  await waitFor('the quota refusal', async () => (await receiptsOf('acme')) >= 2);

  say('runbook 2: pushing a compatible and an incompatible professional policy');
  const base = JSON.parse(
    readFileSync(join(deps.policiesDir, 'professional', '1.0.0.json'), 'utf8'),
  ) as PolicyInput;
  const compatible = {
    ...structuredClone(base),
    policy_version: '1.1.0',
    quotas: { ...base.quotas, monthly_actions: 20_000 },
  };
  const pushed = await runtime.pushPolicy(compatible);
  if (pushed.outcome !== 'upgraded') throw new Error(`demo: compatible policy was ${pushed.outcome}`);
  const incompatible = { ...structuredClone(base), policy_version: '2.0.0' };
  const skipped = await runtime.pushPolicy(incompatible);
  if (skipped.outcome !== 'skipped') throw new Error(`demo: incompatible policy was ${skipped.outcome}`);

  say('runbook 4: the store fails its health probes until safe mode engages, then heals');
  // The runbook probes every 10 s; the demo probes every 50 ms so it finishes quickly.
  const monitor = new HealthMonitor(() => deps.ledger.probe(), runtime, systemClock, {
    intervalMs: 50,
    threshold: 3,
  });
  monitor.start();
  deps.ledger.setDown('DEADLINE_EXCEEDED (injected by the demo)');
  await waitFor('safe mode', () => runtime.degraded);
  await runtime.submit(signal('initech', { action_kind: 'noop', signal_id: 'during-outage' }));
  await new Promise((resolve) => setTimeout(resolve, 100));
  deps.ledger.setDown(null);
  await waitFor('recovery', () => !runtime.degraded);
  await monitor.stop();
  // The refused signal is redelivered and runs once the store is back.
  await waitFor('the refused signal to run', async () => {
    for await (const r of deps.ledger.read('tenants/initech'))
      if (r.body.includes('"signal_id":"during-outage"')) return true;
    return false;
  });

  say('runbook 6: initech moves from the enterprise plan to professional (the marketplace says so)');
  const moved = await runtime.changePlan({
    entitlement_id: 'ent-initech',
    account_id: 'initech',
    sku_id: 'governor-professional',
    plan_type: 'professional',
    region: 'us-central1',
  });
  if (moved?.operation !== 'plan_changed')
    throw new Error(`demo: plan change was ${moved?.operation ?? 'not done'}`);

  say('runbook 7: acme cancels; draining, archiving, deleting its topic');
  const cancelled = await runtime.cancel('acme', 'customer_request');
  if (!cancelled) throw new Error('demo: acme could not be cancelled');
  const done = await cancelled.done;
  await runtime.stop();
  return { runtime, archives: [{ name: done.name, path: done.archive }] };
}
