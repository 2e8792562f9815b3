import type { Policy } from '@governor/contracts';
import { parseSemver, validatePolicyText, type PolicyIssue } from '@governor/policy';
import { readText } from '../io';
import { placementOf } from './layout';

/** What `policy validate` finds in one file. */
export interface FileValidation {
  /** The file as the caller named it. */
  readonly file: string;
  readonly ok: boolean;
  /** The parsed policy, defaults filled in, when the schema accepts it. */
  readonly policy: Policy | null;
  /** Schema issues first (the runtime's `validatePolicy`), then where the file sits; empty when ok. */
  readonly issues: PolicyIssue[];
}

// Where the document contradicts its place in `policies/{plan}/{version}.json`: the registry
// refuses such a file (its `latest` relies on the path naming the plan and version).
function layoutIssues(
  file: string,
  policy: { plan_type?: unknown; policy_version?: unknown },
): PolicyIssue[] {
  const placed = placementOf(file);
  if (placed === null) return [];
  const issues: PolicyIssue[] = [];
  if (parseSemver(placed.version) === undefined)
    issues.push({
      path: 'policy_version',
      message: `the file name ${placed.version}.json is not MAJOR.MINOR.PATCH.json: in policies/${placed.plan}/ a file is named after its version`,
    });
  else if (policy.policy_version !== placed.version)
    issues.push({
      path: 'policy_version',
      message: `${JSON.stringify(policy.policy_version)} does not match the file name ${placed.version}.json`,
    });
  if (policy.plan_type !== placed.plan)
    issues.push({
      path: 'plan_type',
      message: `${JSON.stringify(policy.plan_type)} does not match the folder policies/${placed.plan}/`,
    });
  return issues;
}

/**
 * Checks one policy file the way a push is checked (the `Policy` schema through the runtime's
 * `validatePolicyText`), plus the layout rules when it sits in `policies/{plan}/`. An unreadable
 * file is a CliError (exit 2), not an issue.
 */
export async function validateFile(file: string): Promise<FileValidation> {
  const text = await readText(file, 'policy file');
  const schema = validatePolicyText(text);
  let raw: unknown = null;
  try {
    raw = JSON.parse(text);
  } catch {
    // validatePolicyText has reported it.
  }
  const placed =
    typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? layoutIssues(file, raw) : [];
  const issues = [...(schema.ok ? [] : schema.issues), ...placed];
  return { file, ok: issues.length === 0, policy: schema.ok ? schema.value : null, issues };
}

/** `FILE: path: message`, one issue per line; a whole-document issue's path is `(document)`. */
export function issueLine(file: string, issue: PolicyIssue): string {
  return `${file}: ${issue.path === '' ? '(document)' : issue.path}: ${issue.message}`;
}
