import type { Bucket, Storage } from '@google-cloud/storage';
import { parseChainId } from '@governor/contracts';
import type { CheckpointWitness } from '@governor/governor';
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

export interface GcsCheckpointWitnessOptions {
  /** A configured client; the worker builds one and shares it between adapters. */
  readonly storage: Storage;
  readonly bucket: string;
  /** Where the chains' folders are: `checkpoints/` unless given (empty or `/`-terminated parts). */
  readonly prefix?: string;
}

// A size as written in an object name: decimal, no leading zeros, so one size has one name.
const NOTE_OBJECT = /^(0|[1-9][0-9]*)\.note$/;

function checkChain(chain: string): void {
  // Chain ids become object names; only well-formed ones, so none can reach another's folder.
  if (parseChainId(chain) === undefined)
    throw invalidArgument(
      `not a chain id: ${JSON.stringify(chain)} (expected tenants/{account_id} or workers/{worker_id})`,
    );
}

function checkSize(chain: string, size: number): void {
  if (!Number.isSafeInteger(size) || size < 0)
    throw invalidArgument(`checkpoint size ${size} of chain ${chain} is not a receipt count`);
}

/**
 * The checkpoint witness in Cloud Storage: one object per witnessed checkpoint,
 * `gs://{bucket}/checkpoints/{chain}/{size}.note`, holding the signed note as written.
 *
 * Notes are created with `ifGenerationMatch: 0` and never replaced. Witnessing the same note
 * again resolves (a retried checkpoint, or the SDK's retry of a write whose answer was lost),
 * but a different note for a witnessed size fails with `WITNESS_CONFLICT` and leaves the first:
 * two signed heads for one size mean the chain forked, which is what the witness is there to
 * catch.
 *
 * `latest` lists the chain's folder and reads the note with the numerically largest size, so it
 * costs one listing page per 1,000 checkpoints of the chain plus one read.
 *
 * Other failures are GcsAdapterErrors: `INVALID_ARGUMENT`, or `STORAGE_UNAVAILABLE` (retryable)
 * / `STORAGE_REJECTED`.
 */
export class GcsCheckpointWitness implements CheckpointWitness {
  readonly bucketName: string;
  readonly prefix: string;
  private readonly bucket: Bucket;

  constructor(options: GcsCheckpointWitnessOptions) {
    this.bucketName = options.bucket;
    this.prefix = checkPrefix(options.prefix ?? 'checkpoints/');
    this.bucket = options.storage.bucket(options.bucket);
  }

  async witness(chain: string, size: number, note: string): Promise<void> {
    checkChain(chain);
    checkSize(chain, size);
    const objectName = `${this.folder(chain)}${size}.note`;
    const location = gsUri(this.bucketName, objectName);
    const bytes = Buffer.from(note, 'utf8');
    try {
      await this.bucket.file(objectName).save(bytes, {
        resumable: false,
        contentType: 'text/plain; charset=utf-8',
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      return;
    } catch (e) {
      if (!isPreconditionFailed(e))
        throw storageFailure(
          `witnessing checkpoint ${size} of chain ${chain} at ${location}`,
          this.bucketName,
          e,
        );
    }
    const stored = await this.read(chain, size, objectName);
    if (!stored.equals(bytes))
      throw new GcsAdapterError(
        'WITNESS_CONFLICT',
        `chain ${chain} already has a different checkpoint witnessed at size ${size} (${location}); ` +
          'a witnessed checkpoint is never replaced: two signed heads for one size mean the chain forked, ' +
          'so stop writing the chain and compare the two notes',
        false,
      );
  }

  async latest(chain: string): Promise<string | null> {
    checkChain(chain);
    const folder = this.folder(chain);
    const names = await listFolder(this.bucket, folder, `the checkpoints of chain ${chain}`);
    let largest: number | undefined;
    for (const name of names) {
      const digits = NOTE_OBJECT.exec(name)?.[1];
      if (digits === undefined) continue;
      const size = Number(digits);
      if (Number.isSafeInteger(size) && (largest === undefined || size > largest)) largest = size;
    }
    if (largest === undefined) return null;
    return (await this.read(chain, largest, `${folder}${largest}.note`)).toString('utf8');
  }

  private folder(chain: string): string {
    return `${this.prefix}${chain}/`;
  }

  private async read(chain: string, size: number, objectName: string): Promise<Buffer> {
    try {
      const [bytes] = await this.bucket.file(objectName).download();
      return bytes;
    } catch (e) {
      const location = gsUri(this.bucketName, objectName);
      if (isNotFound(e))
        throw new GcsAdapterError(
          'STORAGE_REJECTED',
          `checkpoint ${size} of chain ${chain} was listed but is gone (${location}); notes are never deleted ` +
            `by the governor: check the lifecycle and retention rules of bucket ${this.bucketName}`,
          false,
          { cause: e },
        );
      throw storageFailure(`reading checkpoint ${size} of chain ${chain} at ${location}`, this.bucketName, e);
    }
  }
}
