import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { VerifyIssue } from '../issues';
import { Keyring } from '../keys';
import { clip, resolveLimits, type VerifyLimits } from '../limits';
import { splitLines } from '../lines';
import { verifyBytes } from '../signature';
import { ChainVerifier, type VerifyMode, type VerifyReport } from '../verify';
import { admitManifest, ArchiveReader, entryBound, readEntry, type ArchiveEntry } from './reader';
import {
  fileDigest,
  isNote,
  KEYS,
  MANIFEST,
  MANIFEST_SIG,
  manifestPayload,
  parseSignature,
  RECEIPTS,
  type ArchiveManifest,
  type ManifestSignature,
} from './serialized';

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

type Digest = { sha256: string; size: number };

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
  let signature: ManifestSignature | null = null;
  let keysJson: Buffer | null = null;
  const notes: string[] = [];
  const digests = new Map<string, Digest>();
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
        problem(`${name} comes after ${RECEIPTS}`);
        reader.abort();
        break;
      }
      if (name === RECEIPTS) {
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
        const digest = await feedReceipts(entry, verifier, manifest.count, limits);
        if (digest !== null) digests.set(name, digest);
        chain = await verifier.finish();
        verifier = null;
        if (digest === null) {
          cut = true;
          reader.abort();
          break;
        }
        continue;
      }
      const data = await readEntry(entry);
      if (!digests.has(name)) digests.set(name, fileDigest(data));
      if (name === MANIFEST) {
        manifestBytes = data;
        const parsed = admitManifest(data, reader, limits);
        if ('problem' in parsed) problem(parsed.problem);
        else manifest = parsed.manifest;
      } else if (name === MANIFEST_SIG) {
        const parsed = parseSignature(data);
        if ('problem' in parsed) problem(parsed.problem);
        else signature = parsed.signature;
      } else if (name === KEYS) keysJson = data;
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
      const bad = signatureProblem(manifest, manifestBytes, signature, keyring);
      if (bad !== null) problem(bad);
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

export async function verifyArchiveFile(
  path: string,
  options: ArchiveVerifyOptions = {},
): Promise<ArchiveReport> {
  return verifyArchive(createReadStream(path), options);
}

/**
 * Feeds receipts.jsonl to the verifier, no further than the `count` lines its manifest
 * declares. Returns the entry's digest, or null when the verifier stopped before its end.
 */
async function feedReceipts(
  entry: ArchiveEntry,
  verifier: ChainVerifier,
  count: number,
  limits: VerifyLimits,
): Promise<Digest | null> {
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
    if (++lines > count) {
      verifier.stop(
        `receipts.jsonl holds more than the ${count} lines its manifest declares: the rest was not read`,
      );
    } else await verifier.push(line);
    if (verifier.stopped) break;
  }
  return verifier.stopped ? null : { sha256: hash.digest('hex'), size };
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

/** Why the manifest's signature does not hold, or null: a trusted key, valid when it was made. */
function signatureProblem(
  manifest: ArchiveManifest,
  manifestBytes: Buffer,
  signature: ManifestSignature,
  keyring: Keyring,
): string | null {
  const trusted = keyring.get(signature.key_id);
  if (!trusted) return `manifest signed by unknown key ${signature.key_id.slice(0, 32)}`;
  if (!verifyBytes(trusted.key, manifestPayload(manifestBytes), Buffer.from(signature.signature, 'base64')))
    return 'manifest signature is invalid';
  if (!Keyring.validAt(trusted.entry, manifest.created_at))
    return `manifest key ${signature.key_id} was not valid at ${manifest.created_at}`;
  return null;
}

function compareWithManifest(
  manifest: ArchiveManifest,
  digests: Map<string, Digest>,
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
    if (file !== MANIFEST && file !== MANIFEST_SIG && !Object.hasOwn(manifest.files, file))
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
