import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Writable } from 'node:stream';
import tar from 'tar-stream';
import type { PublicKeyEntry, StoredReceipt } from '@governor/contracts';
import { canonicalize } from '../canonical';
import { parseCheckpoint } from '../checkpoint';
import { ReceiptsError } from '../errors';
import type { SigningKey } from '../keys';
import {
  ARCHIVE_FORMAT,
  fileDigest,
  KEYS,
  MANIFEST,
  MANIFEST_SIG,
  manifestPayload,
  noteName,
  RECEIPTS,
  type ArchiveManifest,
  type ManifestSignature,
} from './serialized';

export interface ArchiveInput {
  readonly chain: string;
  readonly records: Iterable<StoredReceipt> | AsyncIterable<StoredReceipt>;
  /** Signed checkpoint notes of the chain. */
  readonly checkpoints: readonly string[];
  readonly keys: readonly PublicKeyEntry[];
  readonly signer: SigningKey;
  readonly now: Date;
}

export interface ArchiveWritten {
  readonly manifest: ArchiveManifest;
  readonly bytes: number;
  readonly sha256: string;
}

/** receipts.jsonl spooled to a file, with what the manifest says of it. */
interface Spooled {
  readonly digest: { sha256: string; size: number };
  readonly count: number;
  readonly first_seq: number | null;
  readonly last_seq: number | null;
  readonly head_hash: string | null;
}

/**
 * Writes a tar.gz archive: manifest.json, manifest.sig, keys.json, checkpoints/, and
 * receipts.jsonl last, so a reader can verify the receipts as they stream past.
 */
export async function writeArchive(input: ArchiveInput, out: Writable): Promise<ArchiveWritten> {
  // Spool the receipts first: a tar entry needs its size up front, and the manifest its digest.
  const dir = await fs.mkdtemp(join(tmpdir(), 'governor-archive-'));
  const spool = join(dir, RECEIPTS);
  try {
    const receipts = await spoolReceipts(input.records, spool);
    const keysJson = Buffer.from(JSON.stringify({ keys: input.keys }, null, 2) + '\n');
    const notes = input.checkpoints.map((text) => ({
      name: noteName(parseCheckpoint(text).checkpoint.size),
      data: Buffer.from(text),
    }));
    const files: Record<string, { sha256: string; size: number }> = { [KEYS]: fileDigest(keysJson) };
    for (const n of notes) files[n.name] = fileDigest(n.data);
    files[RECEIPTS] = receipts.digest;
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      chain: input.chain,
      count: receipts.count,
      first_seq: receipts.first_seq,
      last_seq: receipts.last_seq,
      head_hash: receipts.head_hash,
      created_at: input.now.toISOString(),
      files,
    };
    const manifestBytes = Buffer.from(canonicalize(manifest));
    const signature: ManifestSignature = {
      key_id: input.signer.keyId,
      signature: input.signer.sign(manifestPayload(manifestBytes)).toString('base64'),
    };
    const sig = Buffer.from(JSON.stringify(signature) + '\n');

    const pack = tar.pack();
    const mtime = input.now;
    const add = (name: string, data: Buffer) =>
      pack.entry({ name, size: data.length, mtime, mode: 0o444 }, data);
    const outHash = createHash('sha256');
    let bytes = 0;
    const gzip = createGzip();
    gzip.on('data', (chunk: Buffer) => {
      outHash.update(chunk);
      bytes += chunk.length;
    });
    const done = pipeline(pack, gzip, out);
    // Awaited below; meanwhile a failure of the output must not be an unhandled rejection.
    done.catch(() => undefined);
    add(MANIFEST, manifestBytes);
    add(MANIFEST_SIG, sig);
    add(KEYS, keysJson);
    for (const n of notes) add(n.name, n.data);
    const entry = pack.entry({ name: RECEIPTS, size: receipts.digest.size, mtime, mode: 0o444 });
    await pipeline(createReadStream(spool), entry);
    pack.finalize();
    await done;
    return { manifest, bytes, sha256: outHash.digest('hex') };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Writes the records as receipts.jsonl lines to `path`. */
async function spoolReceipts(
  records: Iterable<StoredReceipt> | AsyncIterable<StoredReceipt>,
  path: string,
): Promise<Spooled> {
  const hash = createHash('sha256');
  let size = 0;
  let count = 0;
  let firstSeq: number | null = null;
  let lastSeq: number | null = null;
  let headHash: string | null = null;
  const file = createWriteStream(path);
  for await (const record of records) {
    const line = Buffer.from(
      JSON.stringify({
        body: record.body,
        leaf_hash: record.leaf_hash,
        signature: record.signature,
        key_id: record.key_id,
      }) + '\n',
    );
    hash.update(line);
    size += line.length;
    count += 1;
    const seq = (JSON.parse(record.body) as { seq: number }).seq;
    firstSeq ??= seq;
    lastSeq = seq;
    headHash = record.leaf_hash;
    if (!file.write(line)) await new Promise<void>((resolve) => file.once('drain', () => resolve()));
  }
  await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return {
    digest: { sha256: hash.digest('hex'), size },
    count,
    first_seq: firstSeq,
    last_seq: lastSeq,
    head_hash: headHash,
  };
}

/** Writes an archive to a new file; an existing file is never overwritten (ARCHIVE_EXISTS). */
export async function writeArchiveFile(input: ArchiveInput, path: string): Promise<ArchiveWritten> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, 'wx', 0o444);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new ReceiptsError(
        'ARCHIVE_EXISTS',
        `archive ${path} already exists; archives are never overwritten`,
        { cause: e },
      );
    throw e;
  }
  try {
    return await writeArchive(input, handle.createWriteStream());
  } catch (e) {
    // A half-written archive must not block the retry with ARCHIVE_EXISTS.
    await fs.rm(path, { force: true });
    throw e;
  }
}
