import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { latestVersion, planNameProblem, storedPolicyMismatch, versionProblem } from '@governor/policy';
import { planUnknown, type PolicyRegistry } from '@governor/governor';
import { DurableDirectories } from './durable-dirs';
import { isErrno, readTextIfPresent, writeFileAtomic } from './durable-fs';
import { corrupt, invalidArgument, unavailable } from './errors';
import { KeyedMutex } from './keyed-mutex';

// The policy schema's plan_type (LowerId): also a safe directory name.
function checkPlan(plan: string): void {
  const problem = planNameProblem(plan);
  if (problem) throw invalidArgument(problem);
}

function checkVersion(plan: string, version: string): void {
  const problem = versionProblem(plan, version);
  if (problem) throw invalidArgument(problem);
}

/**
 * The policy registry of the embedded deployment: `<root>/{plan}/{version}.json`, the layout of
 * the repo's `policies/` folder and of `gs://…/policies/`. It can read `policies/` in place
 * (pass `{ readOnly: true }` so that `put` refuses) or own a copy of it.
 *
 * `latest` is the highest semantic version among the plan's `{MAJOR.MINOR.PATCH}.json` files;
 * other files (a README, temporary files) are ignored. Documents are returned as parsed JSON and
 * not validated against the policy schema (the runtime does that), but a document whose own
 * `plan_type` or `policy_version` contradicts where it is stored is refused, on read and on put:
 * the GitOps convention that a file's path names its plan and version is what `latest` relies on.
 * `put` replaces the file atomically (temporary file, fsync, rename, directory fsync).
 *
 * Failures are GovernorErrors: I/O is a retryable `LEDGER_UNAVAILABLE`; a missing policy, a bad
 * name or a bad document is not retryable, and its message names the plan and version.
 */
export class DirectoryPolicyRegistry implements PolicyRegistry {
  /** Absolute path of the registry's root directory. */
  readonly root: string;
  private readonly readOnly: boolean;
  private readonly dirs: DurableDirectories;
  private readonly mutex = new KeyedMutex();

  /** A registry rooted at `root`; with `readOnly`, `put` is refused. */
  constructor(root: string, options: { readonly readOnly?: boolean } = {}) {
    this.root = resolve(root);
    this.readOnly = options.readOnly ?? false;
    this.dirs = new DurableDirectories(this.root);
  }

  async get(plan: string, version: string): Promise<unknown> {
    checkPlan(plan);
    checkVersion(plan, version);
    const file = join(this.root, plan, `${version}.json`);
    let text: string | null;
    try {
      text = await readTextIfPresent(file);
    } catch (e) {
      throw unavailable(`reading policy ${plan} ${version}`, e);
    }
    if (text === null) throw invalidArgument(`no policy ${plan} ${version} (no ${file})`);
    let policy: unknown;
    try {
      policy = JSON.parse(text);
    } catch (e) {
      throw corrupt(`policy ${plan} ${version}: ${file} is not JSON`, e);
    }
    const mismatch = storedPolicyMismatch(policy, plan, version);
    if (mismatch !== null) throw corrupt(`policy ${plan} ${version}: ${file} is misplaced: ${mismatch}`);
    return policy;
  }

  async latest(plan: string): Promise<unknown> {
    checkPlan(plan);
    let names: string[];
    try {
      names = await readdir(join(this.root, plan));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) throw planUnknown(plan);
      throw unavailable(`listing the policies of plan ${plan}`, e);
    }
    const newest = latestVersion(names);
    if (newest === undefined) throw planUnknown(plan);
    return this.get(plan, newest);
  }

  async put(plan: string, version: string, policy: unknown): Promise<void> {
    if (this.readOnly)
      throw invalidArgument(`policy registry ${this.root} is read-only; cannot put ${plan} ${version}`);
    checkPlan(plan);
    checkVersion(plan, version);
    const mismatch = storedPolicyMismatch(policy, plan, version);
    if (mismatch !== null)
      throw invalidArgument(`policy ${plan} ${version} cannot be stored as such: ${mismatch}`);
    const json = JSON.stringify(policy, null, 2) as string | undefined;
    if (json === undefined) throw invalidArgument(`policy ${plan} ${version} is not a JSON value`);
    const dir = join(this.root, plan);
    const file = join(dir, `${version}.json`);
    await this.mutex.run(file, async () => {
      try {
        await this.dirs.ensure(dir);
        await writeFileAtomic(file, `${json}\n`);
      } catch (e) {
        throw unavailable(`storing policy ${plan} ${version}`, e);
      }
    });
  }
}
