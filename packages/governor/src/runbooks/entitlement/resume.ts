import { tenantChain } from '@governor/contracts';
import { validatePolicy } from '@governor/policy';
import type { TenantRecord } from '../../ports';
import { monthStart } from '../../quota';
import type { Host, Tenant } from '../context';
import { startDecommission } from '../decommission/decommission';
import { needsOwner } from './entitlement';

/**
 * Takes over the tenants recorded as active (after a restart or a crash): reopens each chain
 * at its stored head, reloads the plan and policy version the record names (a plan change
 * stores both), reconciles every action the log still shows running, and resubscribes. A
 * tenant recorded as draining (its decommission started and did not finish) has its
 * decommission started again instead. Returns how many actions were reconciled.
 */
export async function resume(host: Host): Promise<{ tenants: number; reconciled: number }> {
  let reconciled = 0;
  let tenants = 0;
  for (const record of await host.deps.directory.list()) {
    if (!needsOwner(record) || host.get(record.account_id)) continue;
    const adopted = await resumeTenant(host, record);
    if (adopted === null) continue;
    reconciled += adopted.reconciled;
    tenants += 1;
  }
  return { tenants, reconciled };
}

/**
 * Takes one tenant over under a lease `epoch` (scale-out: its previous worker died, stopped
 * or shed it): as `resume()` does for one tenant, with its chain claimed at `epoch` first, so
 * the previous owner's late commits are refused. Null when the tenant needs no owner (neither
 * active nor draining).
 */
export async function adopt(
  host: Host,
  accountId: string,
  epoch: number,
): Promise<{ reconciled: number } | null> {
  if (host.get(accountId)) return { reconciled: 0 };
  const record = await host.deps.directory.get(accountId);
  if (record === null || !needsOwner(record)) return null;
  return resumeTenant(host, record, epoch);
}

export async function resumeTenant(
  host: Host,
  stored: TenantRecord,
  epoch?: number,
): Promise<{ reconciled: number } | null> {
  const { registry, bus, clock } = host.deps;
  const loaded = validatePolicy(await registry.get(stored.plan_type, stored.policy_version));
  if (!loaded.ok) {
    host.deps.alerts.alert({
      severity: 'critical',
      code: 'RESUME_FAILED',
      message: `policy ${stored.plan_type} ${stored.policy_version} of ${stored.account_id} is not valid`,
      account_id: stored.account_id,
    });
    return null;
  }
  const writer = await host.openWriter(tenantChain(stored.account_id), epoch);
  // The stored counter is a snapshot (written on scale and policy swaps); the log is the truth.
  const used = await writer.actionsStartedSince(monthStart(clock.now()));
  const record = { ...stored, monthly_actions_used: used };
  const governor = host.addGovernor(record, loaded.value, writer);
  governor.send({ type: 'PROVISIONED' });
  try {
    const reconciled = await reconcileAll(governor);
    if (record.state === 'draining') {
      await startDecommission(host, governor, undefined, undefined);
      return { reconciled };
    }
    // An in-process bus does not outlive the process; a durable one still has the topic.
    if (!(await bus.topicExists(record.account_id))) await bus.createTopic(record.account_id);
    await host.subscribe(record.account_id, loaded.value);
    return { reconciled };
  } catch (e) {
    // Half taken over is not taken over: nothing may keep the tenant without a subscription.
    await host.relinquish(record.account_id, { drain: false }).catch(() => undefined);
    throw e;
  }
}

/**
 * Every action the log shows running has no actor any more (XState restores no timers): it
 * timed out with the previous owner (see `ActionRunner.reconcile`). Returns how many.
 */
async function reconcileAll(governor: Tenant): Promise<number> {
  const orphans = await governor.writer.runningActions();
  for (const entry of orphans) await governor.reconcile(entry);
  return orphans.length;
}
