import type { Tenant } from './runbooks/context';
import type { RuntimeDeps } from './runtime-options';

/**
 * Sends what the tenant's chain still holds in the local spool to the ledger, before the
 * tenant changes hands. A single commit that failed (a store stalled past its deadline, with
 * no probe failing) spools the chain until the next good probe; those receipts count as
 * durable and their signals are acked, so once the next owner claims the chain they could
 * never land and their signals would be lost. Tries again while this worker surely holds the
 * tenant, for up to `forMs`; a fenced chain is alerted by the writer itself, and a spool
 * that still cannot land is alerted as critical, never dropped silently.
 */
export async function landSpool(deps: RuntimeDeps, governor: Tenant, forMs: number): Promise<void> {
  const { clock, alerts, mayServe } = deps;
  const { writer, accountId } = governor;
  const deadline = clock.now() + forMs;
  let waitMs = 100;
  let failure: unknown;
  while (writer.isSpooling && !writer.isFenced) {
    try {
      await writer.recover();
      continue;
    } catch (e) {
      failure = e;
    }
    if (clock.now() + waitMs > deadline || mayServe?.(accountId) === false) break;
    await new Promise<void>((resolve) => clock.setTimeout(resolve, waitMs));
    waitMs = Math.min(waitMs * 2, 1_000);
  }
  if (!writer.isSpooling || writer.isFenced) return;
  alerts.alert({
    severity: 'critical',
    code: 'SPOOL_NOT_LANDED',
    message: `${accountId} was given up with ${writer.spooled} receipts still in the local spool (their signals were acked): ${(failure as Error | undefined)?.message ?? 'the store did not answer'}`,
    account_id: accountId,
    details: { chain: writer.chain, spooled: writer.spooled },
  });
}
