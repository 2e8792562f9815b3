import { Policy } from '@governor/contracts';

/** One thing wrong with a policy document: the shape of a `policy_validation_failed` receipt's issues. */
export interface PolicyIssue {
  /** Where, as `quotas.concurrent_actions`, `skus[0]`, `actions["Bad Kind"]`; `''` for the whole document. */
  path: string;
  message: string;
}

export type PolicyValidation = { ok: true; value: Policy } | { ok: false; issues: PolicyIssue[] };

// Bounds that keep a policy_validation_failed receipt small whatever was pushed: its messages
// are limited to 2000 characters, and a document full of junk should not make a huge receipt.
const MAX_ISSUES = 50;
const MAX_PATH = 500;
const MAX_MESSAGE = 2000;

type Segment = PropertyKey;

function formatPath(path: readonly Segment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (typeof segment === 'string' && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment))
      out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(String(segment))}]`;
  }
  return out;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

interface ZodLikeIssue {
  readonly code: string;
  readonly path: readonly Segment[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly issues?: readonly ZodLikeIssue[];
}

// zod reports all unknown fields of an object as one issue and a bad record key with a generic
// message; one issue per field, pointing at it, reads better in a receipt and a CLI.
function toIssues(issue: ZodLikeIssue): PolicyIssue[] {
  if (issue.code === 'unrecognized_keys' && issue.keys) {
    return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }));
  }
  if (issue.code === 'invalid_key' && issue.issues && issue.issues.length > 0) {
    const key = issue.path[issue.path.length - 1];
    const why = issue.issues.map((i) => i.message).join('; ');
    return [{ path: formatPath(issue.path), message: `invalid key ${JSON.stringify(String(key))}: ${why}` }];
  }
  return [{ path: formatPath(issue.path), message: issue.message }];
}

function bounded(all: PolicyIssue[]): PolicyIssue[] {
  const clipped = all.map((i) => ({ path: clip(i.path, MAX_PATH), message: clip(i.message, MAX_MESSAGE) }));
  if (clipped.length <= MAX_ISSUES) return clipped;
  const kept = clipped.slice(0, MAX_ISSUES - 1);
  kept.push({ path: '', message: `${clipped.length - kept.length} more issues not listed` });
  return kept;
}

/**
 * Checks a parsed JSON document against the policy schema. Never throws: a bad document is
 * `{ ok: false, issues }` with at least one issue, each saying where and what.
 */
export function validatePolicy(json: unknown): PolicyValidation {
  const result = Policy.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, issues: bounded(result.error.issues.flatMap((i) => toIssues(i as ZodLikeIssue))) };
}

/** As {@link validatePolicy}, from the file's text, so unparseable JSON is an issue too. */
export function validatePolicyText(text: string): PolicyValidation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    return {
      ok: false,
      issues: [{ path: '', message: clip(`not valid JSON: ${(err as Error).message}`, MAX_MESSAGE) }],
    };
  }
  return validatePolicy(json);
}
