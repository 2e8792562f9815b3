import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { ReceiptsError } from '../errors';
import type { VerifyLimits } from '../limits';
import {
  declaredBytes,
  isNote,
  MANIFEST,
  MANIFEST_SIG,
  parseManifest,
  RECEIPTS,
  type ArchiveManifest,
} from './serialized';

/** A tar entry as tar-stream yields it: its header, and a stream of exactly `header.size` bytes. */
export type ArchiveEntry = Readable & { header: { readonly name: string; readonly size?: number } };

/** Raised inside the stream when a bound is crossed; never escapes the reader. */
class BoundCrossed extends Error {}

/**
 * Reads a tar.gz with bounded work. The gzip stream may expand at most `maxExpansion` times the
 * compressed bytes read (after `expansionAllowance`), and at most to a ceiling the caller sets
 * from the manifest's declared sizes; entries are counted, and each entry's name and size are
 * checked before any of its data is read. A bound crossed ends the stream and is reported by
 * `end()` as the reason reading stopped; an unreadable stream (not gzip, not tar, cut short) is
 * an INVALID_ARCHIVE error.
 */
export class ArchiveReader {
  readonly entries: AsyncIterable<ArchiveEntry>;
  private readonly extract = tar.extract();
  private readonly done: Promise<void>;
  private compressed = 0;
  private expanded = 0;
  private ceiling = Number.POSITIVE_INFINITY;
  private count = 0;
  private crossed: string | null = null;
  private failure: ReceiptsError | null = null;
  private aborted = false;

  constructor(
    input: Readable,
    private readonly limits: VerifyLimits,
  ) {
    this.entries = this.extract as unknown as AsyncIterable<ArchiveEntry>;
    const counter = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, next: TransformCallback) => {
        this.compressed += chunk.length;
        next(null, chunk);
      },
    });
    const meter = new Transform({
      transform: (chunk: Buffer, _encoding: BufferEncoding, next: TransformCallback) => {
        this.expanded += chunk.length;
        const why = this.overBudget();
        if (why === null) next(null, chunk);
        else {
          this.crossed ??= why;
          next(new BoundCrossed(why));
        }
      },
    });
    // Awaited in end(); until then a failure must not be an unhandled rejection. A failure
    // destroys the parser, so the caller's entry loop stops.
    this.done = pipeline(input, counter, createGunzip(), meter, this.extract).catch((e: unknown) => {
      this.failure = new ReceiptsError('INVALID_ARCHIVE', `cannot read archive: ${(e as Error).message}`, {
        cause: e,
      });
      this.extract.destroy(this.failure);
    });
  }

  private overBudget(): string | null {
    if (this.expanded > this.ceiling)
      return `the archive holds more than the ${this.ceiling} bytes its manifest declares: the rest was not read`;
    const allowed = this.limits.expansionAllowance + this.limits.maxExpansion * this.compressed;
    if (this.expanded > allowed)
      return `the archive expands more than ${this.limits.maxExpansion} times (${this.expanded} bytes from ${this.compressed}): the rest was not read`;
    return null;
  }

  /**
   * Why `entry` must not be read, or null: one entry too many, a name too long, or a size over
   * `max` (`what` says whose bound it is, for the message).
   */
  admit(entry: ArchiveEntry, max: number, what: string): string | null {
    this.count += 1;
    if (this.count > this.limits.maxEntries)
      return `more than ${this.limits.maxEntries} entries in the archive: the rest was not read`;
    const name = entry.header.name;
    if (Buffer.byteLength(name, 'utf8') > this.limits.maxEntryNameBytes)
      return `an entry name is longer than ${this.limits.maxEntryNameBytes} bytes: not read`;
    const size = entry.header.size ?? 0;
    if (size > max) return `${name} is ${size} bytes, over the ${max} ${what}: not read`;
    return null;
  }

  /** Lets the stream expand by at most `bytes` more than it has so far (the manifest's declared total). */
  allow(bytes: number): void {
    this.ceiling = Math.min(this.ceiling, this.expanded + bytes);
  }

  /** Stops reading: the caller has what it needs, or stopped at a limit. */
  abort(): void {
    this.aborted = true;
    this.extract.destroy();
  }

  /**
   * Waits for the stream to end. Returns the bound that stopped it, or null; throws
   * INVALID_ARCHIVE if the archive could not be read.
   */
  async end(): Promise<string | null> {
    await this.done;
    if (this.crossed !== null) return this.crossed;
    // Once the caller stopped on purpose, the stream failing behind it (cut off) is no error.
    if (this.failure && !this.aborted) throw this.failure;
    return null;
  }

  /**
   * After the caller's entry loop threw `e`: returns the bound that ended the stream, or throws
   * why the archive could not be read (or `e` itself, when the stream was not the cause).
   */
  async settle(e: unknown): Promise<string> {
    if (!this.extract.destroyed && !this.extract.destroying) {
      this.abort();
      await this.done;
      throw e;
    }
    await this.done;
    if (this.crossed !== null) return this.crossed;
    throw (
      (this.aborted ? null : this.failure) ??
      (e instanceof ReceiptsError
        ? e
        : new ReceiptsError('INVALID_ARCHIVE', `cannot read archive: ${(e as Error).message}`, { cause: e }))
    );
  }
}

/** Reads a whole entry that `admit` has bounded. */
export async function readEntry(entry: ArchiveEntry): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of entry as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

/** The most bytes an entry may have, and whose bound that is (for the message). */
export function entryBound(
  name: string,
  manifest: ArchiveManifest | null,
  limits: VerifyLimits,
): [max: number, what: string] {
  const declared = manifest && Object.hasOwn(manifest.files, name) ? manifest.files[name]?.size : undefined;
  const capped = (max: number, what: string): [number, string] =>
    declared !== undefined && declared < max ? [declared, 'bytes its manifest declares'] : [max, what];
  if (name === MANIFEST) return [limits.maxMetadataBytes, 'bytes a manifest may have'];
  if (name === MANIFEST_SIG) return [limits.maxSignatureBytes, 'bytes a manifest signature may have'];
  // Without a manifest the receipts are not read at all (each reader says so itself).
  if (name === RECEIPTS) return [declared ?? Number.POSITIVE_INFINITY, 'bytes its manifest declares'];
  if (isNote(name)) return capped(limits.maxNoteBytes, 'bytes a checkpoint note may have');
  return capped(limits.maxMetadataBytes, 'bytes a metadata file may have');
}

/**
 * Parses a manifest.json entry's bytes; a valid manifest raises the reader's byte allowance to
 * what it declares.
 */
export function admitManifest(
  data: Buffer,
  reader: ArchiveReader,
  limits: VerifyLimits,
): ReturnType<typeof parseManifest> {
  const parsed = parseManifest(data);
  if ('manifest' in parsed) reader.allow(declaredBytes(parsed.manifest, limits.maxSignatureBytes));
  return parsed;
}
