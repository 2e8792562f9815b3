import type { ChainHead } from '@governor/receipts';
import { GovernorError } from '../errors';
import type { LedgerEntry, ReceiptLedger } from '../ports';

/**
 * The spooled entries the ledger does not have yet. A commit that timed out while the store
 * was stalled may still have landed once it resumed; those receipts are ours (same leaf
 * hashes) and are skipped. Anything else at those seqs is another writer's: a conflict.
 */
export async function notYetStored(
  ledger: ReceiptLedger,
  chain: string,
  entries: readonly LedgerEntry[],
  head: ChainHead,
): Promise<readonly LedgerEntry[]> {
  const first = (entries[0] as LedgerEntry).seq;
  const stored = (await ledger.head(chain))?.size ?? 0;
  if (stored <= first) return entries;
  const landed = stored - first;
  let i = 0;
  let ours = landed <= entries.length;
  if (ours)
    for await (const record of ledger.read(chain, { afterSeq: first - 1, limit: landed })) {
      if (record.leaf_hash !== entries[i]?.record.leaf_hash) ours = false;
      i += 1;
    }
  if (!ours || i !== landed)
    throw new GovernorError(
      'LEDGER_CONFLICT',
      `${chain}: the ledger holds ${stored} receipts that are not the spooled ones from seq ${first} to ${head.size - 1} (another writer?)`,
      false,
    );
  return entries.slice(landed);
}
