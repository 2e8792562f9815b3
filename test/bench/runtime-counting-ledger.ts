import { ForwardingLedger } from './forwarding-ledger';
import type { LedgerEntry, ReceiptLedger } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';

/**
 * A ReceiptLedger that forwards everything to another one and counts what became durable: the
 * entries of each append once it resolved, and the batch sizes. `durable(n)` resolves as soon
 * as `n` entries of tenant chains are durable, so the bench waits without polling the store.
 */
export class CountingLedger extends ForwardingLedger {
  /** Entries of tenant chains whose append resolved. */
  tenantEntries = 0;
  /** Sizes of the appends of tenant chains, in the order they resolved. */
  batches: number[] = [];
  private waiter: { readonly target: number; readonly resolve: () => void } | null = null;

  constructor(inner: ReceiptLedger) {
    super(inner);
  }

  /** Forgets what was counted so far (after provisioning, before the measured part). */
  reset(): void {
    this.tenantEntries = 0;
    this.batches = [];
  }

  durable(target: number): Promise<void> {
    if (this.tenantEntries >= target) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { target, resolve }));
  }

  override async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    await this.inner.append(chain, entries, head);
    if (!chain.startsWith('tenants/')) return;
    this.tenantEntries += entries.length;
    this.batches.push(entries.length);
    if (this.waiter !== null && this.tenantEntries >= this.waiter.target) {
      this.waiter.resolve();
      this.waiter = null;
    }
  }
}
