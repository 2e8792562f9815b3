import type { ReceiptLedger } from '@governor/governor';

/** What a `decommission_complete` receipt says about the archive it wrote. */
export interface ArchiveReceipt {
  readonly seq: number;
  readonly receipt_id: string;
  readonly archive_gcs_path: string;
  readonly archive_size_bytes: number;
  readonly receipts_archived: number;
}

/** Receipts read per step, backwards from the head: a decommission is near a chain's end. */
const WINDOW = 256;

// Bodies are canonical JSON (no whitespace), so this finds the operation without parsing every body.
const MARK = '"operation":"decommission_complete"';

/**
 * The chain's latest `decommission_complete` receipt, read backwards from the head one window
 * at a time (a tenant provisioned again after a decommission has receipts after it), or null
 * when the chain has none. The receipt is the signed record of where the archive is and how
 * large it is.
 */
export async function latestArchiveReceipt(
  ledger: ReceiptLedger,
  chain: string,
): Promise<ArchiveReceipt | null> {
  const head = await ledger.head(chain);
  for (let end = head?.size ?? 0; end > 0; end -= WINDOW) {
    const start = Math.max(0, end - WINDOW);
    let found: ArchiveReceipt | null = null;
    for await (const stored of ledger.read(chain, { afterSeq: start - 1, limit: end - start })) {
      if (!stored.body.includes(MARK)) continue;
      const body = JSON.parse(stored.body) as Record<string, unknown>;
      if (body.operation === 'decommission_complete') found = body as unknown as ArchiveReceipt;
    }
    if (found !== null) return found;
  }
  return null;
}

// One part of an archive name, as the archive stores accept it.
const NAME_PART = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/**
 * The archive store name (`{account_id}/{file}.tar.gz`) of the location a receipt records: the
 * last two parts of `gs://bucket/[prefix/]{account_id}/{file}`, of a file path on the embedded
 * default, or of `memory://…`. Null when the location is not an archive of `accountId`.
 */
export function archiveNameOf(location: string, accountId: string): string | null {
  const parts = location.split('/');
  const file = parts[parts.length - 1] ?? '';
  if (parts.length < 2 || parts[parts.length - 2] !== accountId) return null;
  if (!NAME_PART.test(file) || !file.endsWith('.tar.gz')) return null;
  return `${accountId}/${file}`;
}
