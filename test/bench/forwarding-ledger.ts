import type { StoredReceipt } from '@governor/contracts';
import type { ActionLogEntry, LedgerEntry, ReceiptLedger } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';

/** A ReceiptLedger that forwards every call to another one: benches override what they observe. */
export class ForwardingLedger implements ReceiptLedger {
  constructor(protected readonly inner: ReceiptLedger) {}

  get maxWritesPerAppend(): number | undefined {
    return this.inner.maxWritesPerAppend;
  }

  head(chain: string): Promise<ChainHead | null> {
    return this.inner.head(chain);
  }

  claim(chain: string, epoch: number): Promise<void> {
    return this.inner.claim(chain, epoch);
  }

  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    return this.inner.append(chain, entries, head);
  }

  read(chain: string, options?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredReceipt> {
    return this.inner.read(chain, options);
  }

  startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    return this.inner.startActions(chain, entries);
  }

  putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void> {
    return this.inner.putActions(chain, entries);
  }

  runningActions(chain: string): Promise<ActionLogEntry[]> {
    return this.inner.runningActions(chain);
  }

  actionsStartedSince(chain: string, since: number): Promise<number> {
    return this.inner.actionsStartedSince(chain, since);
  }

  putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    return this.inner.putCheckpoint(chain, size, note);
  }

  latestCheckpoint(chain: string): Promise<string | null> {
    return this.inner.latestCheckpoint(chain);
  }

  probe(): Promise<void> {
    return this.inner.probe();
  }
}
