import type { ChainWriter } from '../../chain/chain-writer';
import type { ActionLogEntry, AlertSink } from '../../ports';
import type { ActionOutcome } from './action.machine';

/** What is wrong with an action log entry that reconcile cannot read; null when nothing. */
export function malformedEntry(entry: ActionLogEntry): string | null {
  const problems: string[] = [];
  if (typeof entry.kind !== 'string' || entry.kind.length === 0) problems.push('kind');
  if (typeof entry.deadline_at !== 'number' || !Number.isFinite(entry.deadline_at))
    problems.push('deadline_at');
  if (typeof entry.recoverable !== 'boolean') problems.push('recoverable');
  return problems.length > 0 ? `${problems.join(', ')} missing or not valid` : null;
}

/**
 * The outcome receipt of `entry`'s action on the chain since it started, if there is one: the
 * previous owner stopped after the receipt and before the log entry said so.
 */
export async function outcomeOnChain(
  writer: ChainWriter,
  entry: ActionLogEntry,
): Promise<ActionOutcome | null> {
  if (typeof entry.started_seq !== 'number' || !Number.isSafeInteger(entry.started_seq)) return null;
  for await (const body of writer.bodiesFrom(Math.max(0, entry.started_seq))) {
    if (body.action_id !== entry.action_id) continue;
    if (body.operation === 'action_complete') return 'complete';
    if (body.operation === 'action_rolled_back') return 'rolled_back';
    if (body.operation === 'action_failed') return 'escalated';
  }
  return null;
}

/**
 * An entry written by an older or broken build: says what was found (an escalated
 * `action_failed` and an alert) and never fails a start over it.
 */
export async function reportMalformed(
  deps: { readonly writer: ChainWriter; readonly alerts: AlertSink; readonly account_id: string },
  entry: ActionLogEntry,
  problem: string,
  correlationId: string | undefined,
): Promise<'escalated'> {
  const { writer, alerts, account_id } = deps;
  const kind = typeof entry.kind === 'string' && entry.kind.length > 0 ? entry.kind.slice(0, 200) : 'unknown';
  writer.emit(
    {
      operation: 'action_failed',
      status: 'failed',
      duration_ms: 0,
      account_id,
      action_id: entry.action_id,
      ...(correlationId ? { correlation_id: correlationId } : {}),
      action_kind: kind,
      error_code: 'MALFORMED_LOG_ENTRY',
      error_message: `the action log entry cannot be reconciled (${problem}): ${JSON.stringify(entry).slice(0, 1500)}`,
      recoverable: false,
      escalated: true,
    },
    { ...entry, state: 'escalated' },
  );
  alerts.alert({
    severity: 'critical',
    code: 'ACTION_ESCALATED',
    message: `malformed action log entry ${entry.action_id} of ${account_id} needs review: ${problem}`,
    account_id,
  });
  await writer.flush();
  return 'escalated';
}
