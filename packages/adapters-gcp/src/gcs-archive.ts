import { randomUUID } from 'node:crypto';
import type { Bucket, File, FileMetadata, Storage } from '@google-cloud/storage';
import type { ArchiveStore } from '@governor/governor';
import {
  GcsAdapterError,
  checkPrefix,
  gsUri,
  invalidArgument,
  isNotFound,
  isPreconditionFailed,
  sha256Hex,
  storageFailure,
} from './gcs-errors';

export interface GcsArchiveStoreOptions {
  /** A configured client; the worker builds one and shares it between adapters. */
  readonly storage: Storage;
  readonly bucket: string;
  /** Prepended to every archive name: empty (the default) or `/`-terminated parts. */
  readonly prefix?: string;
}

// Each `/`-separated part of a name: a letter or digit first, so never `.`, `..`, hidden or empty.
// The same rule as the directory archive, so a name valid for one deployment is valid for both.
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Custom metadata keys on every archive object. */
const SHA256 = 'sha256';
const UPLOAD = 'upload_id';

/**
 * Archives in Cloud Storage: `gs://{bucket}/{prefix}{account_id}/{YYYY-MM-DD}.tar.gz`.
 *
 * `put` creates the object with `ifGenerationMatch: 0`, so an existing archive is never
 * replaced, whoever wrote it, and of two racing puts exactly one wins; the loser gets
 * `ARCHIVE_EXISTS`. Uploads are single requests (`resumable: false`): archives are small and a
 * resumable session would leave state behind on failure. The object records the sha256 (hex)
 * of its bytes in custom metadata, and `get` refuses bytes that do not match it
 * (`ARCHIVE_CORRUPT`); an object without that metadata (written by another tool) is returned
 * as it is, its receipts' signatures being the real check.
 *
 * Other failures are GcsAdapterErrors: `STORAGE_UNAVAILABLE` (retryable) or `STORAGE_REJECTED`.
 */
export class GcsArchiveStore implements ArchiveStore {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;

  constructor(options: GcsArchiveStoreOptions) {
    this.bucketName = options.bucket;
    this.prefix = checkPrefix(options.prefix ?? '');
    this.bucket = options.storage.bucket(options.bucket);
  }

  async put(name: string, data: Buffer): Promise<{ path: string; size: number }> {
    const objectName = this.objectName(name);
    const location = gsUri(this.bucketName, objectName);
    // A copy: the SDK may send the buffer again on a retry, after the caller has reused it.
    const bytes = Buffer.from(data);
    // Marks this upload, so a 412 on the SDK's retry of our own successful (but unanswered)
    // request is recognised as ours rather than reported as someone else's archive.
    const upload = randomUUID();
    const file = this.bucket.file(objectName);
    try {
      await file.save(bytes, {
        resumable: false,
        contentType: 'application/gzip',
        metadata: { metadata: { [SHA256]: sha256Hex(bytes), [UPLOAD]: upload } },
        preconditionOpts: { ifGenerationMatch: 0 },
      });
    } catch (e) {
      if (!isPreconditionFailed(e))
        throw storageFailure(`storing archive ${name} at ${location}`, this.bucketName, e);
      if (await this.isUpload(file, upload, name)) return { path: location, size: bytes.length };
      throw new GcsAdapterError(
        'ARCHIVE_EXISTS',
        `archive ${name} already exists at ${location}; archives are never overwritten: read it with get(), or archive under another name`,
        false,
        { cause: e },
      );
    }
    return { path: location, size: bytes.length };
  }

  async get(name: string): Promise<Buffer | null> {
    const objectName = this.objectName(name);
    const location = gsUri(this.bucketName, objectName);
    let metadata: FileMetadata;
    try {
      [metadata] = await this.bucket.file(objectName).getMetadata();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw storageFailure(`reading archive ${name} at ${location}`, this.bucketName, e);
    }
    let data: Buffer;
    try {
      // The generation the metadata described, so digest and bytes are of the same object.
      const pinned = metadata.generation === undefined ? {} : { generation: metadata.generation };
      [data] = await this.bucket.file(objectName, pinned).download();
    } catch (e) {
      if (isNotFound(e)) return null;
      throw storageFailure(`reading archive ${name} at ${location}`, this.bucketName, e);
    }
    const expected = metadata.metadata?.[SHA256];
    if (typeof expected === 'string') {
      const actual = sha256Hex(data);
      if (actual !== expected.toLowerCase())
        throw new GcsAdapterError(
          'ARCHIVE_CORRUPT',
          `archive ${name} at ${location} does not match the sha256 recorded when it was written ` +
            `(recorded ${expected}, read ${actual}); do not trust it: restore it from a copy, or verify its receipts offline`,
          false,
        );
    }
    return data;
  }

  private objectName(name: string): string {
    if (!name.split('/').every((p) => NAME_PART.test(p)))
      throw invalidArgument(
        `archive name ${JSON.stringify(name)} is not a relative path of plain parts (no "..", no leading "/")`,
      );
    return `${this.prefix}${name}`;
  }

  /** Whether the object under the name is the one `upload` wrote. */
  private async isUpload(file: File, upload: string, name: string): Promise<boolean> {
    try {
      const [metadata] = await file.getMetadata();
      return metadata.metadata?.[UPLOAD] === upload;
    } catch (e) {
      throw storageFailure(
        `archive ${name} already exists, and reading its metadata to tell whether this put wrote it failed`,
        this.bucketName,
        e,
      );
    }
  }
}
