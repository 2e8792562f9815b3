import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import { z } from 'zod';
import type { PublicKeyEntry, StoredReceipt } from '@governor/contracts';
import { canonicalize } from './canonical';
import { parseCheckpoint } from './checkpoint';
import { ReceiptsError } from './errors';
import type { VerifyIssue } from './issues';
import { Keyring, type SigningKey } from './keys';
import { splitLines } from './lines';
import { MANIFEST_PAYLOAD_TYPE, pae, verifyBytes } from './signature';
import { ChainVerifier, type VerifyMode, type VerifyReport } from './verify';

export const ARCHIVE_FORMAT = 'governor-archive/1';

export interface ArchiveManifest {
  readonly format: typeof ARCHIVE_FORMAT;
  readonly chain: string;
  readonly count: number;
  readonly first_seq: number | null;
  readonly last_seq: number | null;
  readonly head_hash: string | null;
  readonly created_at: string;
  readonly files: Record<string, { sha256: string; size: number }>;
}

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

function fileDigest(data: Buffer): { sha256: string; size: number } {
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/**
 * Writes a tar.gz archive: manifest.json, manifest.sig, keys.json, checkpoints/, and
 * receipts.jsonl last, so a reader can verify the receipts as they stream past.
 */
export async function writeArchive(input: ArchiveInput, out: Writable): Promise<ArchiveWritten> {
  // Spool the receipts first: a tar entry needs its size up front, and the manifest its digest.
  const dir = await fs.mkdtemp(join(tmpdir(), 'governor-archive-'));
  const spool = join(dir, 'receipts.jsonl');
  try {
    const hash = createHash('sha256');
    let size = 0;
    let count = 0;
    let firstSeq: number | null = null;
    let lastSeq: number | null = null;
    let headHash: string | null = null;
    const file = createWriteStream(spool);
    for await (const record of input.records) {
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

    const keysJson = Buffer.from(JSON.stringify({ keys: input.keys }, null, 2) + '\n');
    const notes = input.checkpoints.map((text) => ({
      name: `checkpoints/${parseCheckpoint(text).checkpoint.size}.note`,
      data: Buffer.from(text),
    }));
    const files: Record<string, { sha256: string; size: number }> = { 'keys.json': fileDigest(keysJson) };
    for (const n of notes) files[n.name] = fileDigest(n.data);
    files['receipts.jsonl'] = { sha256: hash.digest('hex'), size };
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      chain: input.chain,
      count,
      first_seq: firstSeq,
      last_seq: lastSeq,
      head_hash: headHash,
      created_at: input.now.toISOString(),
      files,
    };
    const manifestBytes = Buffer.from(canonicalize(manifest));
    const sig = Buffer.from(
      JSON.stringify({
        key_id: input.signer.keyId,
        signature: input.signer.sign(pae(MANIFEST_PAYLOAD_TYPE, manifestBytes)).toString('base64'),
      }) + '\n',
    );

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
    add('manifest.json', manifestBytes);
    add('manifest.sig', sig);
    add('keys.json', keysJson);
    for (const n of notes) add(n.name, n.data);
    const entry = pack.entry({ name: 'receipts.jsonl', size, mtime, mode: 0o444 });
    await pipeline(createReadStream(spool), entry);
    pack.finalize();
    await done;
    return { manifest, bytes, sha256: outHash.digest('hex') };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
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

export interface ArchiveReport {
  readonly ok: boolean;
  readonly manifest: ArchiveManifest | null;
  /**
   * Where the public keys came from: keys the auditor holds (`keyring`), or the archive's own
   * keys.json (`archive`), which proves integrity but not authenticity: anyone can sign an
   * archive with a key of their own. Such a report is only ok with `trustArchiveKeys`.
   */
  readonly keys_source: 'keyring' | 'archive';
  readonly chain: VerifyReport | null;
  /** Archive-level issues (manifest, files, keys); chain issues are in `chain.issues`. */
  readonly issues: VerifyIssue[];
}

export interface ArchiveVerifyOptions {
  readonly keyring?: Keyring;
  /** Accept the archive's own keys.json as the trust anchor (integrity only). */
  readonly trustArchiveKeys?: boolean;
  readonly mode?: VerifyMode;
  readonly threads?: number;
  /** An archive with no receipt is INVALID (EMPTY) unless this says it is expected. */
  readonly allowEmpty?: boolean;
}

const Digest = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
const ManifestSchema = z.strictObject({
  format: z.literal(ARCHIVE_FORMAT),
  chain: z.string(),
  count: z.number().int().nonnegative(),
  first_seq: z.number().int().nonnegative().nullable(),
  last_seq: z.number().int().nonnegative().nullable(),
  head_hash: z.string().nullable(),
  created_at: z.string(),
  files: z.record(z.string(), Digest),
});
const SignatureSchema = z.strictObject({ key_id: z.string(), signature: z.string() });

/**
 * Pipes gzip into the tar parser. A failure (not gzip, truncated) destroys the parser, so the
 * entry loop stops, and is kept as a ReceiptsError for the caller to rethrow; the returned
 * promise is already handled, so it never becomes an unhandled rejection.
 */
function feed(
  input: Readable,
  extract: tar.Extract,
): { done: Promise<void>; error: () => ReceiptsError | null } {
  let error: ReceiptsError | null = null;
  const done = pipeline(input, createGunzip(), extract).catch((e: unknown) => {
    error = new ReceiptsError('INVALID_ARCHIVE', `cannot read archive: ${(e as Error).message}`, {
      cause: e,
    });
    extract.destroy(error);
  });
  return { done, error: () => error };
}

const SMALL_ENTRY_LIMIT = 16 * 1024 * 1024;

async function readAll(entry: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of entry as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > SMALL_ENTRY_LIMIT)
      throw new ReceiptsError('INVALID_ARCHIVE', 'an archive metadata entry is larger than 16 MiB');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

function archiveKeyring(keysJson: Buffer | null, problem: (detail: string) => void): Keyring {
  if (!keysJson) {
    problem('keys.json is missing from the archive');
    return new Keyring([]);
  }
  try {
    return Keyring.fromJson(keysJson.toString('utf8'));
  } catch (e) {
    problem(`keys.json in the archive is invalid: ${(e as Error).message}`);
    return new Keyring([]);
  }
}

/**
 * Verifies an archive offline as it streams: the manifest's signature and digests, then every
 * receipt against the keys and the checkpoints. Bad content is reported, never thrown; only an
 * unreadable stream (not gzip, not tar) throws INVALID_ARCHIVE.
 */
export async function verifyArchive(
  input: Readable,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveReport> {
  const issues: VerifyIssue[] = [];
  const problem = (detail: string) => issues.push({ code: 'MANIFEST_MISMATCH', seq: null, detail });
  const extract = tar.extract();
  const feeding = feed(input, extract);
  let manifestBytes: Buffer | null = null;
  let manifest: ArchiveManifest | null = null;
  let signature: { key_id: string; signature: string } | null = null;
  let keysJson: Buffer | null = null;
  const notes: string[] = [];
  const digests = new Map<string, { sha256: string; size: number }>();
  let chain: VerifyReport | null = null;
  let keyring = options.keyring;

  try {
    for await (const tarEntry of extract) {
      const entry = tarEntry as unknown as Readable & { header: { name: string } };
      const name = entry.header.name;
      // One of each file, and nothing after the receipts: a second receipts.jsonl or a late
      // checkpoint would otherwise be seen by other tools but not by this check.
      if (digests.has(name)) problem(`${name} appears more than once`);
      if (chain !== null) problem(`${name} comes after receipts.jsonl`);
      if (name === 'receipts.jsonl' && chain === null) {
        if (manifest === null) problem('receipts.jsonl comes before manifest.json');
        keyring ??= archiveKeyring(keysJson, problem);
        const verifier = new ChainVerifier({
          keyring,
          checkpoints: notes,
          ...(manifest ? { expectedChain: manifest.chain } : {}),
          ...(options.mode ? { mode: options.mode } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...(options.allowEmpty !== undefined ? { allowEmpty: options.allowEmpty } : {}),
        });
        const hash = createHash('sha256');
        let size = 0;
        try {
          for await (const line of splitLines(entry, (c) => {
            hash.update(c);
            size += c.length;
          })) {
            await verifier.push(line);
          }
        } catch (e) {
          await verifier.close();
          throw e;
        }
        chain = await verifier.finish();
        digests.set(name, { sha256: hash.digest('hex'), size });
        continue;
      }
      const data = await readAll(entry);
      if (!digests.has(name)) digests.set(name, fileDigest(data));
      if (name === 'manifest.json') {
        manifestBytes = data;
        try {
          const parsed = ManifestSchema.safeParse(JSON.parse(data.toString('utf8')));
          if (parsed.success) manifest = parsed.data;
          else
            problem(
              `manifest.json is malformed: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`,
            );
        } catch {
          problem('manifest.json is not JSON');
        }
      } else if (name === 'manifest.sig') {
        try {
          const parsed = SignatureSchema.safeParse(JSON.parse(data.toString('utf8')));
          if (parsed.success) signature = parsed.data;
          else problem('manifest.sig is malformed');
        } catch {
          problem('manifest.sig is not JSON');
        }
      } else if (name === 'keys.json') keysJson = data;
      else if (name.startsWith('checkpoints/') && name.endsWith('.note')) notes.push(data.toString('utf8'));
      else problem(`unexpected entry ${name}`);
    }
  } catch (e) {
    await feeding.done;
    throw (
      feeding.error() ??
      (e instanceof ReceiptsError
        ? e
        : new ReceiptsError('INVALID_ARCHIVE', `cannot read archive: ${(e as Error).message}`, { cause: e }))
    );
  }
  await feeding.done;
  const fed = feeding.error();
  if (fed) throw fed;

  keyring ??= archiveKeyring(keysJson, problem);
  if (!options.keyring && !options.trustArchiveKeys) {
    issues.push({
      code: 'KEYS_NOT_ANCHORED',
      seq: null,
      detail:
        'verified only against the keys inside the archive; pass keys you trust (--keys) to prove who signed it',
    });
  }
  if (manifestBytes === null) problem('manifest.json is missing');
  if (manifest !== null && manifestBytes !== null) {
    if (!signature) problem('manifest.sig is missing');
    else {
      const trusted = keyring.get(signature.key_id);
      if (!trusted) problem(`manifest signed by unknown key ${signature.key_id.slice(0, 32)}`);
      else if (
        !verifyBytes(
          trusted.key,
          pae(MANIFEST_PAYLOAD_TYPE, manifestBytes),
          Buffer.from(signature.signature, 'base64'),
        )
      ) {
        problem('manifest signature is invalid');
      } else if (!Keyring.validAt(trusted.entry, manifest.created_at))
        problem(`manifest key ${signature.key_id} was not valid at ${manifest.created_at}`);
    }
    for (const [file, want] of Object.entries(manifest.files)) {
      const got = digests.get(file);
      if (!got) problem(`${file} is listed in the manifest but missing`);
      else if (got.sha256 !== want.sha256 || got.size !== want.size)
        problem(`${file} does not match its digest in the manifest`);
    }
    for (const file of digests.keys()) {
      if (file !== 'manifest.json' && file !== 'manifest.sig' && !(file in manifest.files))
        problem(`${file} is not listed in the manifest`);
    }
    if (chain === null) problem('receipts.jsonl is missing');
    else {
      if (chain.count !== manifest.count)
        problem(`manifest says ${manifest.count} receipts, archive holds ${chain.count}`);
      if (chain.first_seq !== manifest.first_seq || chain.last_seq !== manifest.last_seq) {
        problem(
          `manifest says seq ${manifest.first_seq}..${manifest.last_seq}, archive holds ${chain.first_seq}..${chain.last_seq}`,
        );
      }
      if (chain.head_hash !== manifest.head_hash) problem('manifest head_hash differs from the last receipt');
      if (chain.chain !== null && chain.chain !== manifest.chain)
        problem(`manifest chain ${manifest.chain} differs from the receipts' chain ${chain.chain}`);
    }
  }
  return {
    ok: issues.length === 0 && chain !== null && chain.ok,
    manifest,
    keys_source: options.keyring ? 'keyring' : 'archive',
    chain,
    issues,
  };
}

export async function verifyArchiveFile(
  path: string,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveReport> {
  return verifyArchive(createReadStream(path), options);
}

/** Reads the stored records of an archive (for verify-receipt and exports). */
export async function* archiveRecords(input: Readable): AsyncGenerator<string> {
  const extract = tar.extract();
  const feeding = feed(input, extract);
  try {
    for await (const tarEntry of extract) {
      const entry = tarEntry as unknown as Readable & { header: { name: string } };
      if (entry.header.name === 'receipts.jsonl') yield* splitLines(entry);
      else entry.resume();
    }
  } catch (e) {
    await feeding.done;
    throw feeding.error() ?? e;
  }
  await feeding.done;
  const fed = feeding.error();
  if (fed) throw fed;
}

/** The small entries of an archive (keys.json, checkpoint notes), without the receipts. */
export async function archiveExtras(input: Readable): Promise<{ keys: string | null; notes: string[] }> {
  const extract = tar.extract();
  const feeding = feed(input, extract);
  const out: { keys: string | null; notes: string[] } = { keys: null, notes: [] };
  try {
    for await (const tarEntry of extract) {
      const entry = tarEntry as unknown as Readable & { header: { name: string } };
      const name = entry.header.name;
      if (name === 'keys.json') out.keys = (await readAll(entry)).toString('utf8');
      else if (name.startsWith('checkpoints/') && name.endsWith('.note'))
        out.notes.push((await readAll(entry)).toString('utf8'));
      else entry.resume();
    }
  } catch (e) {
    await feeding.done;
    throw feeding.error() ?? e;
  }
  await feeding.done;
  const fed = feeding.error();
  if (fed) throw fed;
  return out;
}
