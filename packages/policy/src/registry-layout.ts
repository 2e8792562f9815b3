import { compareSemver, parseSemver } from './semver';

// The layout every policy registry shares (`{plan}/{version}.json`, in a folder or a bucket):
// what a name must look like and which stored version is the latest. Pure, so each registry
// throws its own error type with these reasons.

const PLAN = /^[a-z][a-z0-9_-]{0,62}$/;
const VERSION_FILE = /^(.+)\.json$/;

/** Why `plan` cannot name a plan's folder, or null. */
export function planNameProblem(plan: string): string | null {
  return PLAN.test(plan) ? null : `not a plan name: ${JSON.stringify(plan)}`;
}

/** Why `version` cannot name a policy version of `plan`, or null. */
export function versionProblem(plan: string, version: string): string | null {
  return parseSemver(version) === undefined
    ? `not a policy version MAJOR.MINOR.PATCH: ${JSON.stringify(version)} (plan ${plan})`
    : null;
}

/** Where a document's own plan_type or policy_version contradicts where it is stored, or null. */
export function storedPolicyMismatch(policy: unknown, plan: string, version: string): string | null {
  if (typeof policy !== 'object' || policy === null) return null;
  const { plan_type, policy_version } = policy as { plan_type?: unknown; policy_version?: unknown };
  if (plan_type !== undefined && plan_type !== plan) return `its plan_type is ${JSON.stringify(plan_type)}`;
  if (policy_version !== undefined && policy_version !== version)
    return `its policy_version is ${JSON.stringify(policy_version)}`;
  return null;
}

/** The highest semantic version among `{MAJOR.MINOR.PATCH}.json` names; other names are ignored. */
export function latestVersion(names: readonly string[]): string | undefined {
  let newest: string | undefined;
  for (const name of names) {
    const version = VERSION_FILE.exec(name)?.[1];
    if (version === undefined || parseSemver(version) === undefined) continue;
    if (newest === undefined || compareSemver(version, newest) > 0) newest = version;
  }
  return newest;
}
