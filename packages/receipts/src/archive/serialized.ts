import { createHash } from 'node:crypto';
import { z } from 'zod';
import { MANIFEST_PAYLOAD_TYPE, pae } from '../signature';

/**
 * The archive's serialised form: a tar.gz of manifest.json, manifest.sig, keys.json, one
 * checkpoints/<size>.note per signed checkpoint, and receipts.jsonl last, so a reader can
 * verify the receipts as they stream past.
 */
export const ARCHIVE_FORMAT = 'governor-archive/1';

export const MANIFEST = 'manifest.json';
export const MANIFEST_SIG = 'manifest.sig';
export const KEYS = 'keys.json';
export const RECEIPTS = 'receipts.jsonl';

/** The entry name of the checkpoint note at `size`. */
export function noteName(size: number): string {
  return `checkpoints/${size}.note`;
}

export function isNote(name: string): boolean {
  return name.startsWith('checkpoints/') && name.endsWith('.note');
}

const FileDigest = z.strictObject({
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  size: z.number().int().nonnegative(),
});
type FileDigest = z.infer<typeof FileDigest>;

/** manifest.json: the chain's span and every other file's digest, signed in manifest.sig. */
const ArchiveManifest = z.strictObject({
  format: z.literal(ARCHIVE_FORMAT),
  chain: z.string(),
  count: z.number().int().nonnegative(),
  first_seq: z.number().int().nonnegative().nullable(),
  last_seq: z.number().int().nonnegative().nullable(),
  head_hash: z.string().nullable(),
  created_at: z.string(),
  files: z.record(z.string(), FileDigest),
});
export type ArchiveManifest = Readonly<z.infer<typeof ArchiveManifest>>;

/** manifest.sig: the manifest's signature, over its bytes as stored. */
const ManifestSignature = z.strictObject({ key_id: z.string(), signature: z.string() });
export type ManifestSignature = z.infer<typeof ManifestSignature>;

export function fileDigest(data: Buffer): FileDigest {
  return { sha256: createHash('sha256').update(data).digest('hex'), size: data.length };
}

/** What a manifest signature signs: the manifest's bytes in a DSSE envelope. */
export function manifestPayload(manifestBytes: Buffer): Buffer {
  return pae(MANIFEST_PAYLOAD_TYPE, manifestBytes);
}

export function parseManifest(data: Buffer): { manifest: ArchiveManifest } | { problem: string } {
  try {
    const parsed = ArchiveManifest.safeParse(JSON.parse(data.toString('utf8')));
    if (parsed.success) return { manifest: parsed.data };
    const first = parsed.error.issues[0];
    return { problem: `manifest.json is malformed: ${first?.path.join('.') ?? ''} ${first?.message ?? ''}` };
  } catch {
    return { problem: 'manifest.json is not JSON' };
  }
}

export function parseSignature(data: Buffer): { signature: ManifestSignature } | { problem: string } {
  try {
    const parsed = ManifestSignature.safeParse(JSON.parse(data.toString('utf8')));
    return parsed.success ? { signature: parsed.data } : { problem: 'manifest.sig is malformed' };
  } catch {
    return { problem: 'manifest.sig is not JSON' };
  }
}

const BLOCK = 512;
/** The tar end-of-archive marker and a writer's record padding, with room to spare. */
const TAR_TAIL = 64 * 1024;

/**
 * The bytes left to read once the manifest is known: every file it declares, each with a header
 * (and room for an extended header), manifest.sig of at most `maxSignatureBytes`, and the tar
 * tail. Nothing honest lies beyond.
 */
export function declaredBytes(manifest: ArchiveManifest, maxSignatureBytes: number): number {
  const padded = (n: number) => Math.ceil(n / BLOCK) * BLOCK;
  let total = 3 * BLOCK + padded(maxSignatureBytes) + TAR_TAIL;
  for (const file of Object.values(manifest.files)) total += 3 * BLOCK + padded(file.size);
  return total;
}
