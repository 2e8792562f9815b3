import type { Bucket } from '@google-cloud/storage';
import { createHash } from 'node:crypto';
import { GovernorError } from '@governor/governor';

/** Why a Cloud Storage adapter failed. Callers branch on `code` (and `retryable`), never on messages. */
export const GcsAdapterErrorCode = {
  /** The caller passed a name, version, chain or size no store could accept. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** An object already exists under the archive's name; archives are written once. */
  ARCHIVE_EXISTS: 'ARCHIVE_EXISTS',
  /** A stored archive's bytes do not match the sha256 recorded when it was written. */
  ARCHIVE_CORRUPT: 'ARCHIVE_CORRUPT',
  /** No policy for the plan, or not that version. */
  POLICY_NOT_FOUND: 'POLICY_NOT_FOUND',
  /** The version is already published with a different document; versions are immutable. */
  POLICY_EXISTS: 'POLICY_EXISTS',
  /** A stored policy is not JSON, or says it is another plan or version than where it is stored. */
  POLICY_CORRUPT: 'POLICY_CORRUPT',
  /** A different note is already witnessed for that chain and size. */
  WITNESS_CONFLICT: 'WITNESS_CONFLICT',
  /** Cloud Storage did not answer or answered 408/429/5xx: worth retrying. */
  STORAGE_UNAVAILABLE: 'STORAGE_UNAVAILABLE',
  /** Cloud Storage refused the request (401/403/404 bucket, 400...): retrying will not help. */
  STORAGE_REJECTED: 'STORAGE_REJECTED',
} as const;
export type GcsAdapterErrorCode = (typeof GcsAdapterErrorCode)[keyof typeof GcsAdapterErrorCode];

export class GcsAdapterError extends GovernorError {
  declare readonly code: GcsAdapterErrorCode;
  override readonly name = 'GcsAdapterError';
  constructor(code: GcsAdapterErrorCode, message: string, retryable: boolean, options?: { cause?: unknown }) {
    super(code, message, retryable, options);
  }
}

export function invalidArgument(message: string): GcsAdapterError {
  return new GcsAdapterError('INVALID_ARGUMENT', message, false);
}

/**
 * The HTTP status of a failed Cloud Storage call, or undefined when there was no answer
 * (connection refused, reset, DNS). The SDK's ApiError carries it as a numeric `code`; some
 * paths surface the raw response instead.
 */
export function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const e = error as {
    code?: unknown;
    status?: unknown;
    response?: { status?: unknown; statusCode?: unknown };
  };
  for (const candidate of [e.code, e.status, e.response?.status, e.response?.statusCode])
    if (typeof candidate === 'number') return candidate;
  return undefined;
}

/** `ifGenerationMatch: 0` failed: an object already lives under the name. */
export function isPreconditionFailed(error: unknown): boolean {
  return statusOf(error) === 412;
}

export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Wraps any other failure of a call about `what` in bucket `bucket`, with what to do about it.
 * GcsAdapterErrors pass through unchanged, so a helper's precise error is not blurred.
 */
export function storageFailure(what: string, bucket: string, error: unknown): GcsAdapterError {
  if (error instanceof GcsAdapterError) return error;
  const status = statusOf(error);
  const reason = reasonOf(error);
  if (status === undefined || status === 408 || status === 429 || status >= 500)
    return new GcsAdapterError(
      'STORAGE_UNAVAILABLE',
      `${what}: Cloud Storage is unavailable (${status ?? 'no answer'}: ${reason}); retry later`,
      true,
      { cause: error },
    );
  const hint =
    status === 401 || status === 403
      ? `check the worker's credentials and that its service account may read, list and create objects in bucket ${bucket}`
      : status === 404
        ? `check that bucket ${bucket} exists`
        : 'the request was refused; retrying will not help';
  return new GcsAdapterError('STORAGE_REJECTED', `${what}: ${status} ${reason}; ${hint}`, false, {
    cause: error,
  });
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Checks an object-name prefix: empty, or `/`-terminated parts, so `{prefix}{name}` can never
 * run into a neighbour (`runs/a` + `cme/…` would read `runs/acme/…`).
 */
export function checkPrefix(prefix: string): string {
  if (prefix === '') return prefix;
  if (
    !prefix.endsWith('/') ||
    prefix.startsWith('/') ||
    prefix
      .split('/')
      .slice(0, -1)
      .some((p) => p === '')
  )
    throw invalidArgument(
      `object prefix ${JSON.stringify(prefix)} must be empty or parts each followed by "/" (like "archives/")`,
    );
  return prefix;
}

export function gsUri(bucket: string, objectName: string): string {
  return `gs://${bucket}/${objectName}`;
}

/**
 * The object names directly in `folder` (a `/`-terminated prefix), relative to it. The
 * delimiter keeps the listing to the folder itself: nothing nested below it, and no sibling
 * that merely shares the prefix (`tenants/acme-2/` is not in `tenants/acme/`).
 */
export async function listFolder(bucket: Bucket, folder: string, what: string): Promise<string[]> {
  try {
    const [files] = await bucket.getFiles({ prefix: folder, delimiter: '/', autoPaginate: true });
    return files.map((f) => f.name.slice(folder.length));
  } catch (e) {
    throw storageFailure(`listing ${what} under ${gsUri(bucket.name, folder)}`, bucket.name, e);
  }
}
