import type { StoredReceipt } from '@governor/contracts';
import { GovernorError, type LedgerEntry, type ReceiptLedger } from '@governor/governor';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { checkChainId } from './chain-id';
import { invalidArgument } from './errors';
import { planAppend } from './head-builder';
import { storedRecord } from './records';

interface StoredChain {
  head: ChainHead;
  readonly records: StoredReceipt[];
}

function copyHead(head: ChainHead): ChainHead {
  return { ...head, tree: { size: head.tree.size, roots: [...head.tree.roots] } };
}

/**
 * An in-process ReceiptLedger: same contract as the durable ones, nothing survives the process.
 * For unit tests and for fast paths that need no durability. `setOutage` makes it behave like a
 * store that is down, for safe-mode tests.
 */
export class MemoryLedger implements ReceiptLedger {
  private readonly chains = new Map<string, StoredChain>();
  private readonly checkpoints = new Map<string, Map<number, string>>();
  private outage: string | null = null;

  /** While `reason` is not null every call fails with a retryable LEDGER_UNAVAILABLE. */
  setOutage(reason: string | null): void {
    this.outage = reason;
  }

  head(chain: string): Promise<ChainHead | null> {
    return this.run(() => {
      checkChainId(chain);
      const stored = this.chains.get(chain);
      return stored ? copyHead(stored.head) : null;
    });
  }

  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    return this.run(() => {
      checkChainId(chain);
      const stored = this.chains.get(chain);
      // Checked and applied in one synchronous step, so a racing append sees all of it or none.
      const next = planAppend(stored?.head ?? emptyHead(chain), chain, entries, head);
      const records = entries.map((e) => storedRecord(e.record));
      if (stored) {
        stored.records.push(...records);
        stored.head = next;
      } else {
        this.chains.set(chain, { head: next, records });
      }
    });
  }

  async *read(
    chain: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): AsyncIterable<StoredReceipt> {
    const records = await this.run(() => {
      checkChainId(chain);
      const all = this.chains.get(chain)?.records ?? [];
      const from = Math.max(0, (options.afterSeq ?? -1) + 1);
      const to =
        options.limit === undefined ? all.length : Math.min(all.length, from + Math.max(0, options.limit));
      // A snapshot: appends made while the caller iterates are not part of this read.
      return all.slice(from, to).map(storedRecord);
    });
    yield* records;
  }

  putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    return this.run(() => {
      checkChainId(chain);
      if (!Number.isSafeInteger(size) || size < 0)
        throw invalidArgument(`checkpoint size ${size} is not a size`);
      let notes = this.checkpoints.get(chain);
      if (!notes) this.checkpoints.set(chain, (notes = new Map<number, string>()));
      notes.set(size, note);
    });
  }

  latestCheckpoint(chain: string): Promise<string | null> {
    return this.run(() => {
      checkChainId(chain);
      const notes = this.checkpoints.get(chain);
      if (!notes || notes.size === 0) return null;
      return notes.get(Math.max(...notes.keys())) ?? null;
    });
  }

  probe(): Promise<void> {
    return this.run(() => undefined);
  }

  private run<T>(fn: () => T): Promise<T> {
    if (this.outage !== null)
      return Promise.reject(new GovernorError('LEDGER_UNAVAILABLE', `memory ledger: ${this.outage}`, true));
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof Error ? e : new Error(String(e)));
    }
  }
}
