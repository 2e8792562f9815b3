import type { StoredReceipt } from '@governor/contracts';
import { GovernorError, type ActionLogEntry, type LedgerEntry, type ReceiptLedger } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';

/**
 * Wraps a ledger so the demo can take the store away and give it back, as an outage would:
 * while down, every call fails with a retryable LEDGER_UNAVAILABLE.
 */
export class FaultLedger implements ReceiptLedger {
  private down: string | null = null;
  constructor(private readonly inner: ReceiptLedger) {}

  get maxWritesPerAppend(): number | undefined {
    return this.inner.maxWritesPerAppend;
  }

  setDown(reason: string | null): void {
    this.down = reason;
  }

  private check(): void {
    if (this.down !== null)
      throw new GovernorError('LEDGER_UNAVAILABLE', `store unavailable: ${this.down}`, true);
  }

  async head(chain: string): Promise<ChainHead | null> {
    this.check();
    return this.inner.head(chain);
  }
  async claim(chain: string, epoch: number): Promise<void> {
    this.check();
    return this.inner.claim(chain, epoch);
  }
  async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    this.check();
    return this.inner.append(chain, entries, head);
  }
  read(chain: string, options?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredReceipt> {
    this.check();
    return this.inner.read(chain, options);
  }
  async startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    this.check();
    return this.inner.startActions(chain, entries);
  }
  async putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void> {
    this.check();
    return this.inner.putActions(chain, entries);
  }
  async runningActions(chain: string): Promise<ActionLogEntry[]> {
    this.check();
    return this.inner.runningActions(chain);
  }
  async actionsStartedSince(chain: string, since: number): Promise<number> {
    this.check();
    return this.inner.actionsStartedSince(chain, since);
  }
  async putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    this.check();
    return this.inner.putCheckpoint(chain, size, note);
  }
  async latestCheckpoint(chain: string): Promise<string | null> {
    this.check();
    return this.inner.latestCheckpoint(chain);
  }
  async probe(): Promise<void> {
    this.check();
    return this.inner.probe();
  }
}
