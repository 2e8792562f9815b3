import type { ReceiptBody, ReceiptFields } from '@governor/contracts';
import { appendReceipt, emptyHead, type ChainHead, type SigningKey } from '@governor/receipts';
import { GovernorError } from './errors';
import type { Clock, LedgerEntry, ReceiptLedger } from './ports';

export interface Emitted {
  readonly receipt_id: string;
  readonly seq: number;
  readonly body: ReceiptBody;
  /** Resolves once the receipt is durable; rejects if it can never be (fenced, conflict). */
  readonly durable: Promise<void>;
}

interface Pending {
  readonly entry: LedgerEntry;
  readonly head: ChainHead;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

/**
 * The single writer of one chain. Emitting is synchronous (sequence, hash, sign), so callers
 * know a receipt's id and seq at once; persistence is group-committed: everything emitted in
 * the same turn of the event loop goes to the ledger in one atomic batch with the new head.
 */
export class ChainWriter {
  private pending: Pending[] = [];
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failure: GovernorError | null = null;

  private constructor(
    readonly chain: string,
    private head: ChainHead,
    private readonly ledger: ReceiptLedger,
    private readonly signer: SigningKey,
    private readonly clock: Clock,
    private readonly maxBatch: number,
  ) {}

  static async open(
    chain: string,
    ledger: ReceiptLedger,
    signer: SigningKey,
    clock: Clock,
    options: { maxBatch?: number } = {},
  ): Promise<ChainWriter> {
    const head = (await ledger.head(chain)) ?? emptyHead(chain);
    return new ChainWriter(chain, head, ledger, signer, clock, options.maxBatch ?? 500);
  }

  get size(): number {
    return this.head.size;
  }

  get currentHead(): ChainHead {
    return this.head;
  }

  emit(fields: ReceiptFields): Emitted {
    if (this.failure) throw this.failure;
    const appended = appendReceipt(this.head, fields, this.signer, { now: new Date(this.clock.now()) });
    this.head = appended.head;
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const durable = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Callers that never await durability must not crash the process on a rejection.
    durable.catch(() => undefined);
    this.pending.push({
      entry: { seq: appended.body.seq, record: appended.record },
      head: appended.head,
      resolve,
      reject,
    });
    // A failed commit is reported through each receipt's `durable`; nothing else to do here.
    if (this.pending.length >= this.maxBatch) this.flush().catch(() => undefined);
    else this.schedule();
    return { receipt_id: appended.body.receipt_id, seq: appended.body.seq, body: appended.body, durable };
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush().catch(() => undefined);
    });
  }

  /** Commits everything emitted so far; resolves when it is durable. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    const batch = this.pending.splice(0, this.maxBatch);
    this.flushing = this.commit(batch).finally(() => {
      this.flushing = null;
    });
    await this.flushing;
    if (this.pending.length > 0) await this.flush();
  }

  private async commit(batch: Pending[]): Promise<void> {
    const head = (batch[batch.length - 1] as Pending).head;
    try {
      await this.ledger.append(
        this.chain,
        batch.map((p) => p.entry),
        head,
      );
      for (const p of batch) p.resolve();
    } catch (e) {
      // A chain must never fork or skip: after a failed commit nothing later may be written
      // until the owner decides (spool in safe mode, or give the chain up on a conflict).
      this.failure =
        e instanceof GovernorError
          ? e
          : new GovernorError(
              'LEDGER_UNAVAILABLE',
              `commit of ${this.chain} failed: ${(e as Error).message}`,
              true,
              { cause: e },
            );
      for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failure);
      throw this.failure;
    }
  }
}
