import type { ActionLogEntry } from '@governor/governor';

const STATES: ReadonlySet<string> = new Set(['running', 'complete', 'rolled_back', 'escalated']);

const isTime = (v: unknown): boolean => typeof v === 'number' && Number.isFinite(v);

/**
 * Why `value` is not an action log entry that survives a JSON round trip, or null. Checked
 * before an entry is written as well as when it is read back, so that nothing is stored that
 * would later read as corruption (a NaN deadline becomes `null` in JSON).
 */
export function actionEntryProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const e = value as Record<string, unknown>;
  if (typeof e.action_id !== 'string') return 'action_id is not a string';
  if (typeof e.kind !== 'string') return 'kind is not a string';
  if (typeof e.signal_id !== 'string') return 'signal_id is not a string';
  if (typeof e.state !== 'string' || !STATES.has(e.state)) return 'state is not an action state';
  if (!isTime(e.deadline_at)) return 'deadline_at is not a time';
  if (typeof e.recoverable !== 'boolean') return 'recoverable is not a boolean';
  if (e.started_at !== undefined && !isTime(e.started_at)) return 'started_at is not a time';
  if (e.started_seq !== undefined && (!Number.isSafeInteger(e.started_seq) || (e.started_seq as number) < 0))
    return 'started_seq is not a seq';
  return null;
}

/** `value` as an action log entry, or why it is not one. */
export function parseActionEntry(value: unknown): ActionLogEntry | string {
  const problem = actionEntryProblem(value);
  return problem === null ? (value as ActionLogEntry) : problem;
}
