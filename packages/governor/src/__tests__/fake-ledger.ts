import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';
import { GovernorError } from '../errors';
import type { LedgerEntry, ReceiptLedger } from '../ports';

/** A minimal in-memory ledger for unit tests, with switchable failures. */
export class FakeLedger implements ReceiptLedger {
  readonly chains = new Map<string, { head: ChainHead; records: StoredReceipt[] }>();
  readonly batches: number[] = [];
  failNext: Error | null = null;
  /** With failNext: the failing append still lands, as a commit that timed out on a stalled store does. */
  landFailed = false;

  head(chain: string): Promise<ChainHead | null> {
    return Promise.resolve(this.chains.get(chain)?.head ?? null);
  }

  /** The epochs chains were claimed under, in call order (this fake does not fence). */
  readonly claims: { chain: string; epoch: number }[] = [];

  claim(chain: string, epoch: number): Promise<void> {
    this.claims.push({ chain, epoch });
    return Promise.resolve();
  }

  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    if (this.failNext) {
      const e = this.failNext;
      this.failNext = null;
      if (this.landFailed) void this.append(chain, entries, head);
      return Promise.reject(e);
    }
    const stored = this.chains.get(chain);
    const size = stored?.head.size ?? 0;
    if (entries[0]?.seq !== size)
      return Promise.reject(
        new GovernorError('LEDGER_CONFLICT', `seq ${entries[0]?.seq} does not continue ${size}`, false),
      );
    this.chains.set(chain, { head, records: [...(stored?.records ?? []), ...entries.map((e) => e.record)] });
    this.batches.push(entries.length);
    return Promise.resolve();
  }

  async *read(
    chain: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): AsyncIterable<StoredReceipt> {
    const records = this.chains.get(chain)?.records ?? [];
    const start = (options.afterSeq ?? -1) + 1;
    yield* records.slice(start, options.limit === undefined ? undefined : start + options.limit);
    await Promise.resolve();
  }

  readonly checkpoints: { chain: string; size: number; note: string }[] = [];

  putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    this.checkpoints.push({ chain, size, note });
    return Promise.resolve();
  }

  latestCheckpoint(chain: string): Promise<string | null> {
    return Promise.resolve(this.checkpoints.filter((c) => c.chain === chain).at(-1)?.note ?? null);
  }

  probe(): Promise<void> {
    return Promise.resolve();
  }
}
