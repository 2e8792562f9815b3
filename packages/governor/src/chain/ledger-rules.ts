import type { ChainHead } from '@governor/receipts';
import type { ActionLogEntry, LedgerEntry } from '../ports';
import { HeadBuilder, sameHead } from './head-builder';
import { ledgerConflict, ledgerFenced, ledgerInvalidArgument } from './ledger-errors';

// The rules every ReceiptLedger applies, whatever it stores to: each takes what the store holds
// and either throws the ledger error the port promises or says what to write.

/**
 * Checks a batch against the stored head and returns the head after it (equal to `claimed`).
 * A batch that does not continue the stored head is a LEDGER_CONFLICT: another writer got there
 * first. A batch that is wrong in itself is an INVALID_ARGUMENT: retrying it cannot help.
 */
export function planAppend(
  stored: ChainHead,
  chain: string,
  entries: readonly LedgerEntry[],
  claimed: ChainHead,
): ChainHead {
  if (claimed.chain !== chain)
    throw ledgerInvalidArgument(`a head of ${claimed.chain} cannot be stored for ${chain}`);
  const first = entries[0];
  if (first === undefined) throw ledgerInvalidArgument(`empty batch for ${chain}`);
  if (first.seq !== stored.size) {
    throw ledgerConflict(
      `${chain}: batch starts at seq ${first.seq} but the stored chain has ${stored.size} receipts (another writer?)`,
    );
  }
  const builder = new HeadBuilder(stored);
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== stored.size + i)
      throw ledgerInvalidArgument(`${chain}: batch seqs are not contiguous at seq ${stored.size + i}`);
    const problem = builder.push(entry.record);
    if (problem === null) continue;
    if (i === 0 && problem.kind === 'link')
      throw ledgerConflict(`${chain}: batch does not continue the stored head: ${problem.detail}`);
    throw ledgerInvalidArgument(`${chain}: ${problem.detail}`);
  }
  const next = builder.head;
  if (!sameHead(next, claimed))
    throw ledgerInvalidArgument(`${chain}: the head given with the batch is not the head after its entries`);
  return next;
}

/** Throws the ledger's INVALID_ARGUMENT error unless `epoch` is a non-negative safe integer. */
export function checkEpoch(chain: string, epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0)
    throw ledgerInvalidArgument(`${chain}: fencing epoch ${epoch} is not a non-negative integer`);
}

/**
 * What a `claim(chain, epoch)` does to the stored fence (null: none yet): the fence to store, or
 * null when `epoch` is the stored one already (a no-op). A stored fence above `epoch` means a
 * newer owner has claimed the chain: LEDGER_FENCED. An epoch that is not a non-negative safe
 * integer is an invalid argument.
 */
export function planClaim(chain: string, stored: number | null, epoch: number): number | null {
  checkEpoch(chain, epoch);
  if (stored !== null && stored > epoch)
    throw ledgerFenced(
      `${chain}: cannot claim epoch ${epoch}, the chain is claimed at epoch ${stored} (a newer owner)`,
    );
  return stored === epoch ? null : epoch;
}

/**
 * Checks an append against the stored fence: a client that claimed the chain at `claimed`
 * (undefined: never claimed, unfenced) is refused with LEDGER_FENCED once a higher epoch is
 * stored. Must run in the same atomic step as the write it guards.
 */
export function checkFence(chain: string, stored: number | null, claimed: number | undefined): void {
  if (claimed !== undefined && stored !== null && stored > claimed)
    throw ledgerFenced(
      `${chain}: this writer claimed epoch ${claimed} but the chain is now claimed at epoch ${stored} (lease lost): nothing written`,
    );
}

/** The writes `entries` and the head make in one append (see `ReceiptLedger.maxWritesPerAppend`). */
export function writesOf(entries: readonly LedgerEntry[]): number {
  let writes = 1;
  for (const e of entries) writes += e.action ? 2 : 1;
  return writes;
}

/** Refuses an append of more writes than the store takes in one commit, before anything is sent. */
export function checkWrites(chain: string, entries: readonly LedgerEntry[], max: number): void {
  const writes = writesOf(entries);
  if (writes > max)
    throw ledgerInvalidArgument(
      `${chain}: an append of ${entries.length} receipts makes ${writes} writes, more than the ${max} one commit takes`,
    );
}

/** The action log entries an append carries, in order. */
export function actionsOf(entries: readonly LedgerEntry[]): ActionLogEntry[] {
  return entries.flatMap((e) => (e.action ? [e.action] : []));
}

/**
 * Which of `entries` a write-ahead (`ReceiptLedger.startActions`) creates: those whose action_id
 * is neither in the log (`stored`) nor earlier in the same call.
 */
export function planStartActions(
  entries: readonly ActionLogEntry[],
  stored: (actionId: string) => boolean,
): boolean[] {
  const seen = new Set<string>();
  return entries.map((e) => {
    const created = !stored(e.action_id) && !seen.has(e.action_id);
    seen.add(e.action_id);
    return created;
  });
}

/** How many of `entries`, from the first, one append takes: at most `maxBatch` and `maxWrites` writes. */
export function appendable(entries: readonly LedgerEntry[], maxBatch: number, maxWrites: number): number {
  let writes = 1;
  let n = 0;
  for (const e of entries) {
    writes += e.action ? 2 : 1;
    if (n === maxBatch || (writes > maxWrites && n > 0)) break;
    n += 1;
  }
  return n;
}
