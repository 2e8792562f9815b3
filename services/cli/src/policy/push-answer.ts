import type { EdgeAnswer } from '../edge-client';

/** A push's answer for a person: one result line, and further lines under it. */
export interface PushSummary {
  readonly ok: boolean;
  readonly line: string;
  readonly details: string[];
}

const text = (v: unknown): string => (typeof v === 'string' ? v : '');
const texts = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : [];
const number = (v: unknown): string => (typeof v === 'number' ? String(v) : '?');
const count = (v: unknown, what: string): string => `${number(v)} ${what}${v === 1 ? '' : 's'}`;

/** The hint of a 409 POLICY_INCOMPATIBLE for a CLI user (the API's own message speaks of `"force": true`). */
export const FORCE_HINT =
  'to apply it anyway, push again with --force (running governors are upgraded; an escalation receipt is written)';

/**
 * `✔ 200 policy starter 1.1.0 upgraded from 1.0.0: 3 governors updated, 0 failed (compatible)`, or
 * `✖ 409 POLICY_INCOMPATIBLE starter 2.0.0 over 1.0.0: major version bump 1 -> 2` with the
 * --force hint under it. `plan` is the pushed document's plan_type (the answer does not name it).
 */
export function summarizePush(answer: EdgeAnswer, plan: string): PushSummary {
  // A refusal carries the push's summary under `details` (the edge's error shape); a 200 is the summary.
  const details = answer.body.details;
  const b =
    answer.status >= 300 && typeof details === 'object' && details !== null && !Array.isArray(details)
      ? { ...answer.body, ...(details as Record<string, unknown>) }
      : answer.body;
  const version = text(b.policy_version) || '?';
  const previous = text(b.previous_version);
  if (answer.status < 300) {
    const check = b.compatibility_check === 'forced' ? 'forced' : 'compatible';
    const tally = `${count(b.governors_updated, 'governor')} updated, ${number(b.governors_failed)} failed`;
    const line =
      previous === version
        ? `${answer.status} policy ${plan} ${version} already current: ${tally}`
        : `${answer.status} policy ${plan} ${version} upgraded${previous ? ` from ${previous}` : ''}: ${tally} (${check})`;
    return { ok: true, line, details: [] };
  }
  const code = text(b.code) || 'HTTP_ERROR';
  const over = previous ? ` over ${previous}` : '';
  switch (code) {
    case 'POLICY_INCOMPATIBLE':
      return {
        ok: false,
        line: `${answer.status} ${code} ${plan} ${version}${over}: ${texts(b.reasons).join('; ')}`,
        details: [FORCE_HINT],
      };
    case 'POLICY_VERSION_EXISTS':
      return {
        ok: false,
        line: `${answer.status} ${code} ${plan} ${version}${over}: ${texts(b.reasons).join('; ')}`,
        details: [],
      };
    case 'POLICY_INVALID': {
      const issues = texts(b.issues);
      return {
        ok: false,
        line: `${answer.status} ${code} ${plan} ${version}: ${count(issues.length, 'issue')}`,
        details: issues,
      };
    }
    default:
      return {
        ok: false,
        line: `${answer.status} ${code}: ${text(b.message) || text(b.text) || 'no message'}`,
        details: answer.correlationId ? [`correlation id ${answer.correlationId}`] : [],
      };
  }
}
