import { PassThrough } from 'node:stream';
import { tenantChain } from '@governor/contracts';
import { writeArchive } from '@governor/receipts';
import { drainTimeoutMs } from '../../runtime-options';
import { isRunning, type Host, type Tenant } from '../context';
import { checkCorrelationId, correlated } from '../correlation';

/** A decommission under way: its start receipt is durable, `done` settles when it finishes. */
export interface Decommission {
  readonly receipt_id: string;
  readonly done: Promise<{ receipt_id: string; archive: string; name: string }>;
}

/**
 * Runbook 7. Stops accepting at once and returns once `decommission_start` is durable; the
 * drain (up to 30 s), archive export, topic deletion and `decommission_complete` continue in
 * the background (`decommissioned(accountId)` waits for them).
 */
export async function cancel(
  host: Host,
  accountId: string,
  reason?: string,
  correlationId?: string,
): Promise<Decommission | null> {
  checkCorrelationId(correlationId);
  const governor = host.get(accountId);
  if (!governor || !isRunning(governor)) return null;
  return startDecommission(host, governor, reason, correlationId);
}

/**
 * Starts runbook 7 for `governor`: `decommission_start` durable, then the tenant recorded as
 * draining (so a restart, or the next owner, starts the decommission again rather than
 * serving the tenant), then the rest in the background.
 */
export async function startDecommission(
  host: Host,
  governor: Tenant,
  reason: string | undefined,
  correlationId: string | undefined,
): Promise<Decommission> {
  const accountId = governor.accountId;
  const started = host.deps.clock.now();
  // The receipt is made (emit is synchronous and throws on a body it cannot write) before the
  // tenant changes state, so a cancel that cannot be recorded leaves the tenant as it was.
  const start = governor.emit({
    operation: 'decommission_start',
    status: 'in_progress',
    duration_ms: 0,
    ...correlated(correlationId),
    account_id: accountId,
    sku_id: governor.record.sku_id,
    in_flight_actions: governor.inFlight,
    ...(reason ? { cancellation_reason: reason } : {}),
  });
  governor.send({ type: 'CANCEL' });
  await start.durable;
  await host.deps.directory.put({ ...governor.record, state: 'draining' });
  const done = finishDecommission(host, governor, started, correlationId).catch((e: unknown) =>
    decommissionFailed(host, governor, e, correlationId),
  );
  // Runs in the background: a failure is a receipt and an alert (above), and rejects `done`
  // for whoever waits on it, never an unhandled rejection that would take the process down.
  done.catch(() => undefined);
  host.background(done);
  return { receipt_id: start.receipt_id, done };
}

/** The background part of a decommission failed: say so on the chain and to the pager, then rethrow. */
async function decommissionFailed(
  host: Host,
  governor: Tenant,
  error: unknown,
  correlationId: string | undefined,
): Promise<never> {
  const { alerts } = host.deps;
  const message = String((error as Error | undefined)?.message ?? error).slice(0, 2000) || 'unknown error';
  const code = (error as { code?: unknown } | undefined)?.code;
  alerts.alert({
    severity: 'critical',
    code: 'DECOMMISSION_FAILED',
    message: `the decommission of ${governor.accountId} did not finish (the tenant stays draining; it starts again when a worker next takes the tenant over, e.g. on restart): ${message}`,
    account_id: governor.accountId,
  });
  try {
    await governor.emit({
      operation: 'decommission_failed',
      status: 'failed',
      duration_ms: 0,
      ...correlated(correlationId),
      account_id: governor.accountId,
      sku_id: governor.record.sku_id,
      error_code: typeof code === 'string' && code.length > 0 ? code : 'DECOMMISSION_FAILED',
      error_message: message,
    }).durable;
  } catch {
    // The chain cannot take it either: the alert above is what is left.
  }
  throw error;
}

async function finishDecommission(
  host: Host,
  governor: Tenant,
  started: number,
  correlationId: string | undefined,
): Promise<{ receipt_id: string; archive: string; name: string }> {
  const { bus, directory, archive, ledger, signer, clock, keys } = host.deps;
  const accountId = governor.accountId;
  const chain = tenantChain(accountId);
  const refused = governor.refuseQueued('draining');
  const before = governor.outcomes;
  const drained = await governor.drain(drainTimeoutMs(host.deps));
  // Past the drain deadline what is still running is given up, and counted as failed.
  const stillRunning = drained ? 0 : governor.inFlight;
  if (stillRunning > 0) {
    host.deps.alerts.alert({
      severity: 'critical',
      code: 'DRAIN_TIMEOUT',
      message: `${stillRunning} action(s) of ${accountId} still running after the drain deadline`,
      account_id: accountId,
    });
  }
  const after = governor.outcomes;
  const completed = after.complete - before.complete;
  const failed = after.rolled_back - before.rolled_back + (after.escalated - before.escalated);
  await governor.writer.flush();

  // Checkpoint at decommission, then export every receipt so far to the archive.
  const note = await governor.writer.checkpoint();
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  const written = await writeArchive(
    { chain, records: ledger.read(chain), checkpoints: [note], keys, signer, now: new Date(clock.now()) },
    out,
  );
  // One archive per decommission: an account provisioned and cancelled again the same day
  // gets an archive of its own, named by the chain's size at this decommission's checkpoint.
  const date = new Date(clock.now()).toISOString().slice(0, 10);
  const name = `${accountId}/${date}-${written.manifest.count}.tar.gz`;
  const stored = await archive.put(name, Buffer.concat(chunks));

  await host.unsubscribe(accountId);
  await bus.deleteTopic(accountId);
  await directory.put({ ...governor.record, state: 'decommissioned' });
  const complete = governor.emit({
    operation: 'decommission_complete',
    status: 'complete',
    duration_ms: Math.max(0, clock.now() - started),
    ...correlated(correlationId),
    account_id: accountId,
    sku_id: governor.record.sku_id,
    actions_completed: completed,
    actions_failed: failed + refused + stillRunning,
    receipts_archived: written.manifest.count,
    archive_gcs_path: stored.path,
    archive_size_bytes: stored.size,
  });
  await complete.durable;
  // The archive's checkpoint was taken before this receipt: one more covers the whole chain,
  // so an export of the decommissioned tenant proves its tail too.
  await governor.writer.checkpoint().catch((e: unknown) =>
    host.deps.alerts.alert({
      severity: 'warning',
      code: 'CHECKPOINT_FAILED',
      message: `the final checkpoint of ${chain} was not stored: ${(e as Error).message}`,
      account_id: accountId,
    }),
  );
  governor.send({ type: 'DRAINED' });
  return { receipt_id: complete.receipt_id, archive: stored.path, name };
}
