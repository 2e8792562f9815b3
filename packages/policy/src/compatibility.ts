import type { Policy } from '@governor/contracts';
import { compareSemver, isMajorBump, parseSemver } from './semver';

export interface Compatibility {
  readonly compatible: boolean;
  /** Why not, one plain sentence each; empty when compatible. */
  readonly reasons: string[];
}

function major(version: string): string {
  return parseSemver(version)?.major ?? version;
}

/**
 * The global check of a policy upgrade, before it is broadcast to any governor: the version
 * must increase, and the change must not break running tenants (no major bump, no removed
 * action kind, same plan). An incompatible upgrade is skipped unless forced.
 * Both policies must be schema-valid (see `validatePolicy`).
 */
export function checkCompatibility(current: Policy, next: Policy): Compatibility {
  const reasons: string[] = [];
  const from = current.policy_version;
  const to = next.policy_version;
  const order = compareSemver(to, from);
  if (order === 0) reasons.push(`version ${to} is already current; a new policy needs a higher version`);
  else if (order < 0) reasons.push(`version ${to} is lower than current ${from}; versions must increase`);
  else if (isMajorBump(from, to)) reasons.push(`major version bump ${major(from)} -> ${major(to)}`);
  if (current.plan_type !== next.plan_type) {
    reasons.push(`plan_type changed "${current.plan_type}" -> "${next.plan_type}"`);
  }
  for (const kind of Object.keys(current.actions).sort()) {
    if (!Object.hasOwn(next.actions, kind)) reasons.push(`action kind "${kind}" removed`);
  }
  return { compatible: reasons.length === 0, reasons };
}

/**
 * Whether `next` may be published over `current` at all, force or not: a published version is
 * immutable, and versions only increase. `sameContent` says `next` is exactly the policy
 * published as `current` (a GitOps re-run, or the broadcast reaching another worker): that is
 * no new version, and passes. Null when it may be published; otherwise why not.
 */
export function versionRefusal(current: Policy, next: Policy, sameContent: boolean): string | null {
  const order = compareSemver(next.policy_version, current.policy_version);
  if (order === 0 && !sameContent)
    return `version ${next.policy_version} is already published with other content; a published version is immutable: publish the change as a new version`;
  if (order < 0)
    return `version ${next.policy_version} is lower than the published ${current.policy_version}; versions only increase, force or not`;
  return null;
}
