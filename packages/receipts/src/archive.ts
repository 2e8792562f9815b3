import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import type { Readable, Writable } from 'node:stream';
import tar from 'tar-stream';
import { z } from 'zod';
import type { PublicKeyEntry, StoredReceipt } from '@governor/contracts';
import { ArchiveReader, readEntry } from './archive-reader';
import { canonicalize } from './canonical';
import { parseCheckpoint } from './checkpoint';
import { ReceiptsError } from './errors';
import type { VerifyIssue } from './issues';
import { Keyring, type SigningKey } from './keys';
import { clip, resolveLimits, type VerifyLimits } from './limits';
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
  /**
   * Archive-level issues (manifest, files, keys, and LIMIT_EXCEEDED when reading stopped at a
   * bound), the first `maxIssuesListed` of them; chain issues are in `chain.issues`.
   */
  readonly issues: VerifyIssue[];
  /** Archive-level issues found but not listed. */
  readonly issues_omitted: number;
}

export interface ArchiveVerifyOptions {
  readonly keyring?: Keyring;
  /** Accept the archive's own keys.json as the trust anchor (integrity only). */
  readonly trustArchiveKeys?: boolean;
  readonly mode?: VerifyMode;
  readonly threads?: number;
  /** An archive with no receipt is INVALID (EMPTY) unless this says it is expected. */
  readonly allowEmpty?: boolean;
  /** Bounds on what is read (defaults in limits.ts); tests pass tiny ones. */
  readonly limits?: Partial<VerifyLimits>;
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

function parseManifest(data: Buffer): { manifest: ArchiveManifest } | { problem: string } {
  try {
    const parsed = ManifestSchema.safeParse(JSON.parse(data.toString('utf8')));
    if (parsed.success) return { manifest: parsed.data };
    const first = parsed.error.issues[0];
    return { problem: `manifest.json is malformed: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}` };
  } catch {
    return { problem: 'manifest.json is not JSON' };
  }
}

const BLOCK = 512;
/** The tar end-of-archive marker and a writer's record padding, with room to spare. */
const TAR_TAIL = 64 * 1024;

/**
 * The bytes left to read once the manifest is known: every file it declares, each with a header
 * (and room for an extended header), manifest.sig, and the tar tail. Nothing honest lies beyond.
 */
function declaredBytes(manifest: ArchiveManifest, limits: VerifyLimits): number {
  const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
  let total = 3 * BLOCK + padded(limits.maxSignatureBytes) + TAR_TAIL;
  for (const file of Object.values(manifest.files)) total += 3 * BLOCK + padded(file.size);
  return total;
}

/** The most bytes an entry may have, and whose bound that is (for the message). */
function entryBound(
  name: string,
  manifest: ArchiveManifest | null,
  limits: VerifyLimits,
): [max: number, what: string] {
  const declared = manifest && Object.hasOwn(manifest.files, name) ? manifest.files[name]?.size : undefined;
  const capped = (max: number, what: string): [number, string] =>
    declared !== undefined && declared < max ? [declared, 'bytes its manifest declares'] : [max, what];
  if (name === 'manifest.json') return [limits.maxMetadataBytes, 'bytes a manifest may have'];
  if (name === 'manifest.sig') return [limits.maxSignatureBytes, 'bytes a manifest signature may have'];
  // Without a manifest the receipts are not read at all (each reader says so itself).
  if (name === 'receipts.jsonl') return [declared ?? Number.POSITIVE_INFINITY, 'bytes its manifest declares'];
  if (isNote(name)) return capped(limits.maxNoteBytes, 'bytes a checkpoint note may have');
  return capped(limits.maxMetadataBytes, 'bytes a metadata file may have');
}

function isNote(name: string): boolean {
  return name.startsWith('checkpoints/') && name.endsWith('.note');
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
 * unreadable stream (not gzip, not tar) throws INVALID_ARCHIVE. Reading never goes past the
 * manifest's declared sizes and count, nor past `limits`: a bound crossed stops it and the
 * report is INVALID with LIMIT_EXCEEDED.
 */
export async function verifyArchive(
  input: Readable,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveReport> {
  const limits = resolveLimits(options.limits);
  const issues: VerifyIssue[] = [];
  let omitted = 0;
  const problem = (detail: string) => {
    if (issues.length < limits.maxIssuesListed) issues.push({ code: 'MANIFEST_MISMATCH', seq: null, detail });
    else omitted += 1;
  };
  const reader = new ArchiveReader(input, limits);
  let manifestBytes: Buffer | null = null;
  let manifest: ArchiveManifest | null = null;
  let signature: { key_id: string; signature: string } | null = null;
  let keysJson: Buffer | null = null;
  const notes: string[] = [];
  const digests = new Map<string, { sha256: string; size: number }>();
  let chain: VerifyReport | null = null;
  let verifier: ChainVerifier | null = null;
  let keyring = options.keyring;
  // The bound that stopped reading, if one did (reported here unless the chain report has it).
  let limit: string | null = null;
  // Reading stopped before the end: what was not read cannot be compared with the manifest.
  let cut = false;
  let settled = false;

  try {
    for await (const entry of reader.entries) {
      const name = entry.header.name;
      const [max, what] = entryBound(name, manifest, limits);
      const refused = reader.admit(entry, max, what);
      if (refused !== null) {
        limit = refused;
        cut = true;
        reader.abort();
        break;
      }
      // One of each file, and nothing after the receipts: a second receipts.jsonl or a late
      // checkpoint would otherwise be seen by other tools but not by this check.
      if (digests.has(name)) problem(`${name} appears more than once`);
      if (chain !== null) {
        // Nothing honest follows the receipts: the verdict is INVALID, stop here.
        problem(`${name} comes after receipts.jsonl`);
        reader.abort();
        break;
      }
      if (name === 'receipts.jsonl') {
        if (manifest === null) {
          // Without its declared size and count, nothing bounds what would be read.
          problem('receipts.jsonl comes before a valid manifest.json: its receipts were not read');
          cut = true;
          reader.abort();
          break;
        }
        keyring ??= archiveKeyring(keysJson, problem);
        verifier = new ChainVerifier({
          keyring,
          checkpoints: notes,
          expectedChain: manifest.chain,
          ...(options.mode ? { mode: options.mode } : {}),
          ...(options.threads !== undefined ? { threads: options.threads } : {}),
          ...(options.allowEmpty !== undefined ? { allowEmpty: options.allowEmpty } : {}),
          ...(options.limits ? { limits: options.limits } : {}),
        });
        const hash = createHash('sha256');
        let size = 0;
        let lines = 0;
        for await (const line of splitLines(
          entry,
          (c) => {
            hash.update(c);
            size += c.length;
          },
          limits.maxLineBytes,
        )) {
          if (++lines > manifest.count) {
            verifier.stop(
              `receipts.jsonl holds more than the ${manifest.count} lines its manifest declares: the rest was not read`,
            );
          } else await verifier.push(line);
          if (verifier.stopped) break;
        }
        const stoppedEarly = verifier.stopped;
        if (!stoppedEarly) digests.set(name, { sha256: hash.digest('hex'), size });
        chain = await verifier.finish();
        verifier = null;
        if (stoppedEarly) {
          cut = true;
          reader.abort();
          break;
        }
        continue;
      }
      const data = await readEntry(entry);
      if (!digests.has(name)) digests.set(name, fileDigest(data));
      if (name === 'manifest.json') {
        manifestBytes = data;
        const parsed = parseManifest(data);
        if ('problem' in parsed) problem(parsed.problem);
        else {
          manifest = parsed.manifest;
          reader.allow(declaredBytes(manifest, limits));
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
      else if (isNote(name)) notes.push(data.toString('utf8'));
      else problem(`unexpected entry ${name}`);
    }
  } catch (e) {
    // A bound crossed inside the stream ends it with an error, as does an unreadable archive
    // (which settle() throws); the worker threads must end either way.
    try {
      limit = await reader.settle(e);
    } catch (failure) {
      await verifier?.close();
      throw failure;
    }
    settled = true;
    cut = true;
    if (verifier !== null) {
      // Crossed while reading the receipts: the chain report says so, with what was read.
      verifier.stop(limit);
      limit = null;
      chain = await verifier.finish();
    }
  }
  if (!settled) {
    const crossed = await reader.end();
    if (crossed !== null && limit === null && !cut) {
      limit = crossed;
      cut = true;
    }
  }
  if (limit !== null) issues.unshift({ code: 'LIMIT_EXCEEDED', seq: null, detail: limit });

  keyring ??= archiveKeyring(keysJson, problem);
  if (!options.keyring && !options.trustArchiveKeys) {
    issues.push({
      code: 'KEYS_NOT_ANCHORED',
      seq: null,
      detail:
        'verified only against the keys inside the archive; pass keys you trust (--keys) to prove who signed it',
    });
  }
  if (manifestBytes === null && !cut) problem('manifest.json is missing');
  if (manifest !== null && manifestBytes !== null) {
    if (!signature) {
      if (!cut) problem('manifest.sig is missing');
    } else {
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
    if (!cut) compareWithManifest(manifest, digests, chain, problem);
  }
  return {
    ok: issues.length === 0 && omitted === 0 && chain !== null && chain.ok,
    manifest,
    keys_source: options.keyring ? 'keyring' : 'archive',
    chain,
    issues,
    issues_omitted: omitted,
  };
}

function compareWithManifest(
  manifest: ArchiveManifest,
  digests: Map<string, { sha256: string; size: number }>,
  chain: VerifyReport | null,
  problem: (detail: string) => void,
): void {
  for (const [file, want] of Object.entries(manifest.files)) {
    const got = digests.get(file);
    if (!got) problem(`${clip(file)} is listed in the manifest but missing`);
    else if (got.sha256 !== want.sha256 || got.size !== want.size)
      problem(`${clip(file)} does not match its digest in the manifest`);
  }
  for (const file of digests.keys()) {
    if (file !== 'manifest.json' && file !== 'manifest.sig' && !Object.hasOwn(manifest.files, file))
      problem(`${clip(file)} is not listed in the manifest`);
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

export async function verifyArchiveFile(
  path: string,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveReport> {
  return verifyArchive(createReadStream(path), options);
}

/**
 * A stored record is some 500 bytes at least (a 64-hex leaf hash, an 88-character signature, a
 * key id, and a body with its required fields); a shorter line cannot be one.
 */
const MIN_RECORD_BYTES = 256;

/**
 * Reads the stored records of an archive (for verify-receipt and exports), no further than its
 * manifest's declared size and count. A bound crossed, or receipts without a manifest before
 * them, throws LIMIT_EXCEEDED; an unreadable archive throws INVALID_ARCHIVE. Lines that cannot
 * be records (blank, or shorter than any record) are bounded by `maxBlankLines`: a reader that
 * keeps something per line must not be fed millions of them.
 */
export async function* archiveRecords(
  input: Readable,
  options: { readonly limits?: Partial<VerifyLimits> } = {},
): AsyncGenerator<string> {
  const limits = resolveLimits(options.limits);
  const reader = new ArchiveReader(input, limits);
  let manifest: ArchiveManifest | null = null;
  let limit: string | null = null;
  try {
    for await (const entry of reader.entries) {
      const name = entry.header.name;
      const [max, what] = entryBound(name, manifest, limits);
      limit = reader.admit(entry, max, what);
      if (limit === null && name === 'receipts.jsonl' && manifest === null)
        limit = 'receipts.jsonl comes before a valid manifest.json: its receipts were not read';
      if (limit !== null) break;
      if (name === 'manifest.json') manifest = (await admitManifest(entry, reader, limits)) ?? manifest;
      else if (name === 'receipts.jsonl' && manifest !== null) {
        let lines = 0;
        let junk = 0;
        for await (const line of splitLines(entry, undefined, limits.maxLineBytes)) {
          if (++lines > manifest.count) {
            limit = `receipts.jsonl holds more than the ${manifest.count} lines its manifest declares: the rest was not read`;
            break;
          }
          if (line.length < MIN_RECORD_BYTES && ++junk > limits.maxBlankLines) {
            limit = `more than ${limits.maxBlankLines} lines too short to be a receipt: the rest was not read`;
            break;
          }
          yield line;
        }
        // Nothing after the receipts is a record.
        break;
      } else entry.resume();
    }
  } catch (e) {
    limit = await reader.settle(e);
  } finally {
    // A consumer that stops early (the receipt found) ends the stream here too.
    reader.abort();
  }
  limit ??= await reader.end();
  if (limit !== null) throw new ReceiptsError('LIMIT_EXCEEDED', limit);
}

/**
 * Reads a manifest.json entry; a valid one raises the reader's byte allowance to what it
 * declares. Null (the allowance unchanged) when it does not parse.
 */
async function admitManifest(
  entry: Parameters<typeof readEntry>[0],
  reader: ArchiveReader,
  limits: VerifyLimits,
): Promise<ArchiveManifest | null> {
  const parsed = parseManifest(await readEntry(entry));
  if (!('manifest' in parsed)) return null;
  reader.allow(declaredBytes(parsed.manifest, limits));
  return parsed.manifest;
}

/**
 * The small entries of an archive (keys.json, checkpoint notes), read up to the receipts, each
 * within its bound; a bound crossed throws LIMIT_EXCEEDED, an unreadable archive INVALID_ARCHIVE.
 */
export async function archiveExtras(
  input: Readable,
  options: { readonly limits?: Partial<VerifyLimits> } = {},
): Promise<{ keys: string | null; notes: string[] }> {
  const limits = resolveLimits(options.limits);
  const reader = new ArchiveReader(input, limits);
  const out: { keys: string | null; notes: string[] } = { keys: null, notes: [] };
  let manifest: ArchiveManifest | null = null;
  let limit: string | null = null;
  try {
    for await (const entry of reader.entries) {
      const name = entry.header.name;
      // The receipts come last: everything wanted here is before them.
      if (name === 'receipts.jsonl') break;
      const [max, what] = entryBound(name, manifest, limits);
      limit = reader.admit(entry, max, what);
      if (limit !== null) break;
      if (name === 'manifest.json') manifest = (await admitManifest(entry, reader, limits)) ?? manifest;
      else if (name === 'keys.json') out.keys = (await readEntry(entry)).toString('utf8');
      else if (isNote(name)) out.notes.push((await readEntry(entry)).toString('utf8'));
      else entry.resume();
    }
  } catch (e) {
    limit = await reader.settle(e);
  } finally {
    reader.abort();
  }
  limit ??= await reader.end();
  if (limit !== null) throw new ReceiptsError('LIMIT_EXCEEDED', limit);
  return out;
}
