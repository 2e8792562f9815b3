import type { Readable } from 'node:stream';
import { ReceiptsError } from '../errors';
import { resolveLimits, type VerifyLimits } from '../limits';
import { splitLines } from '../lines';
import { admitManifest, ArchiveReader, entryBound, readEntry, type ArchiveEntry } from './reader';
import { isNote, KEYS, MANIFEST, RECEIPTS, type ArchiveManifest } from './serialized';

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
      if (limit === null && name === RECEIPTS && manifest === null)
        limit = 'receipts.jsonl comes before a valid manifest.json: its receipts were not read';
      if (limit !== null) break;
      if (name === MANIFEST) manifest = (await readManifest(entry, reader, limits)) ?? manifest;
      else if (name === RECEIPTS && manifest !== null) {
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
      if (name === RECEIPTS) break;
      const [max, what] = entryBound(name, manifest, limits);
      limit = reader.admit(entry, max, what);
      if (limit !== null) break;
      if (name === MANIFEST) manifest = (await readManifest(entry, reader, limits)) ?? manifest;
      else if (name === KEYS) out.keys = (await readEntry(entry)).toString('utf8');
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

/** A manifest.json entry's manifest, or null (the reader's allowance unchanged) when it does not parse. */
async function readManifest(
  entry: ArchiveEntry,
  reader: ArchiveReader,
  limits: VerifyLimits,
): Promise<ArchiveManifest | null> {
  const parsed = admitManifest(await readEntry(entry), reader, limits);
  return 'manifest' in parsed ? parsed.manifest : null;
}
