import type { ChainHead } from '@governor/receipts';
import type { LedgerEntry, ReceiptSpool } from '../ports';

/** An in-process spool: for tests and for deployments that accept losing it with the process. */
export class MemorySpool implements ReceiptSpool {
  private readonly chains = new Map<string, { entries: LedgerEntry[]; head: ChainHead }>();

  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const held = this.chains.get(chain);
    this.chains.set(chain, { entries: [...(held?.entries ?? []), ...entries], head });
    return Promise.resolve();
  }

  pending(chain: string): Promise<{ entries: LedgerEntry[]; head: ChainHead } | null> {
    const held = this.chains.get(chain);
    return Promise.resolve(held ? { entries: [...held.entries], head: held.head } : null);
  }

  clear(chain: string): Promise<void> {
    this.chains.delete(chain);
    return Promise.resolve();
  }
}
