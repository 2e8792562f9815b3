import { isDeepStrictEqual } from 'node:util';
import type { Bucket, Storage } from '@google-cloud/storage';
import { planUnknown, type PolicyRegistry } from '@governor/governor';
import { latestVersion, planNameProblem, storedPolicyMismatch, versionProblem } from '@governor/policy';
import {
  listFolder,
  GcsAdapterError,
  checkPrefix,
  gsUri,
  invalidArgument,
  isNotFound,
  isPreconditionFailed,
  storageFailure,
} from './gcs-errors';

export interface GcsPolicyRegistryOptions {
  /** A configured client; the worker builds one and shares it between adapters. */
  readonly storage: Storage;
  readonly bucket: string;
  /** Where the plans' folders are: `policies/` unless given (empty or `/`-terminated parts). */
  readonly prefix?: string;
}

// The policy schema's plan_type (LowerId), as in the directory registry.
function checkPlan(plan: string): void {
  const problem = planNameProblem(plan);
  if (problem) throw invalidArgument(problem);
}

function checkVersion(plan: string, version: string): void {
  const problem = versionProblem(plan, version);
  if (problem) throw invalidArgument(problem);
}

/**
 * Plan policies in Cloud Storage, `gs://{bucket}/policies/{plan}/{version}.json`: the bucket
 * GitOps publishes to and every worker reads.
 *
 * `latest` is the highest semantic version among the plan's `{MAJOR.MINOR.PATCH}.json` objects
 * (other objects are ignored). Documents are returned as parsed JSON, not validated against the
 * policy schema (the runtime does that), but a document whose own `plan_type` or
 * `policy_version` contradicts where it is stored is refused on read and on put, as in the
 * directory registry: `latest` relies on the path naming the plan and version.
 *
 * A published version is immutable, unlike the directory registry's replace-in-place: `put`
 * creates the object with `ifGenerationMatch: 0`. Putting the same document again resolves
 * (every worker re-puts the version a broadcast brings, and GitOps may have published it
 * first; formatting and key order do not matter), while a different document for a stored
 * version fails with `POLICY_EXISTS`, because governors running that version and receipts
 * naming it would silently disagree about what it says.
 *
 * Errors are GcsAdapterErrors that name the plan and version: `POLICY_NOT_FOUND`,
 * `POLICY_EXISTS`, `POLICY_CORRUPT`, `INVALID_ARGUMENT`, or `STORAGE_UNAVAILABLE` (retryable) /
 * `STORAGE_REJECTED`.
 */
export class GcsPolicyRegistry implements PolicyRegistry {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;

  constructor(options: GcsPolicyRegistryOptions) {
    this.bucketName = options.bucket;
    this.prefix = checkPrefix(options.prefix ?? 'policies/');
    this.bucket = options.storage.bucket(options.bucket);
  }

  async get(plan: string, version: string): Promise<unknown> {
    checkPlan(plan);
    checkVersion(plan, version);
    const location = this.location(plan, version);
    let bytes: Buffer;
    try {
      [bytes] = await this.bucket.file(this.objectName(plan, version)).download();
    } catch (e) {
      if (isNotFound(e))
        throw new GcsAdapterError(
          'POLICY_NOT_FOUND',
          `no policy ${plan} ${version} (no ${location}); publish it, or use a version that exists`,
          false,
          { cause: e },
        );
      throw storageFailure(`reading policy ${plan} ${version} at ${location}`, this.bucketName, e);
    }
    let policy: unknown;
    try {
      policy = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw new GcsAdapterError(
        'POLICY_CORRUPT',
        `policy ${plan} ${version}: ${location} is not JSON; republish it from Git as a new version`,
        false,
        { cause: e },
      );
    }
    const mismatch = storedPolicyMismatch(policy, plan, version);
    if (mismatch !== null)
      throw new GcsAdapterError(
        'POLICY_CORRUPT',
        `policy ${plan} ${version}: ${location} is misplaced: ${mismatch}; a policy's path must name its plan and version`,
        false,
      );
    return policy;
  }

  async latest(plan: string): Promise<unknown> {
    checkPlan(plan);
    const folder = `${this.prefix}${plan}/`;
    const names = await listFolder(this.bucket, folder, `the policies of plan ${plan}`);
    const newest = latestVersion(names);
    if (newest === undefined) throw planUnknown(plan);
    return this.get(plan, newest);
  }

  async put(plan: string, version: string, policy: unknown): Promise<void> {
    checkPlan(plan);
    checkVersion(plan, version);
    const mismatch = storedPolicyMismatch(policy, plan, version);
    if (mismatch !== null)
      throw invalidArgument(`policy ${plan} ${version} cannot be stored as such: ${mismatch}`);
    const json = JSON.stringify(policy, null, 2) as string | undefined;
    if (json === undefined) throw invalidArgument(`policy ${plan} ${version} is not a JSON value`);
    const location = this.location(plan, version);
    try {
      await this.bucket.file(this.objectName(plan, version)).save(`${json}\n`, {
        resumable: false,
        contentType: 'application/json',
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      return;
    } catch (e) {
      if (!isPreconditionFailed(e))
        throw storageFailure(`storing policy ${plan} ${version} at ${location}`, this.bucketName, e);
    }
    // Compared as JSON values, as they will be read: the stored one may be GitOps' own formatting.
    const stored = await this.get(plan, version);
    if (!isDeepStrictEqual(stored, JSON.parse(json)))
      throw new GcsAdapterError(
        'POLICY_EXISTS',
        `policy ${plan} ${version} is already published at ${location} with a different document; ` +
          'a published version is never changed: publish the change as a new version',
        false,
      );
  }

  private objectName(plan: string, version: string): string {
    return `${this.prefix}${plan}/${version}.json`;
  }

  private location(plan: string, version: string): string {
    return gsUri(this.bucketName, this.objectName(plan, version));
  }
}
