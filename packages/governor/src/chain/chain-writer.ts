import type { ReceiptBody, ReceiptFields } from '@governor/contracts';
import {
  appendReceipt,
  checkpointOf,
  emptyHead,
  signCheckpoint,
  type ChainHead,
  type SigningKey,
} from '@governor/receipts';
import { GovernorError, GovernorErrorCode } from '../errors';
import type {
  ActionLogEntry,
  AlertSink,
  CheckpointWitness,
  Clock,
  LedgerEntry,
  ReceiptLedger,
  ReceiptSpool,
} from '../ports';
import { DEFAULT_CHECKPOINT_EVERY, DEFAULT_MAX_BATCH, type ChainWriterOptions } from './chain-writer-options';
import { HeadBuilder } from './head-builder';
import { appendable, writesOf } from './ledger-rules';
import { fencedError, isFenced } from './ledger-errors';
import { notYetStored } from './spool-recovery';

export interface Emitted {
  readonly receipt_id: string;
  readonly seq: number;
  readonly body: ReceiptBody;
  /** Resolves once the receipt is durable (in the ledger, or spooled); rejects if it never can be. */
  readonly durable: Promise<void>;
}

interface Pending {
  readonly entry: LedgerEntry;
  readonly head: ChainHead;
  readonly resolve: () => void;
  readonly reject: (e: unknown) => void;
}

export type { ChainWriterOptions } from './chain-writer-options';

/**
 * The single writer of one chain. Emitting is synchronous (sequence, hash, sign), so callers
 * know a receipt's id and seq at once; persistence is group-committed: everything emitted in
 * the same turn of the event loop (or, with a commit interval, since the last commit) goes to
 * the ledger in one atomic batch with the new head, in batches the ledger takes.
 * When the ledger is unavailable the batches go to the spool, in order, until `recover()`.
 */
export class ChainWriter {
  private pending: Pending[] = [];
  /** The writes an append of everything pending makes, the head included (see `writesOf`). */
  private pendingWrites = 1;
  private flushing: Promise<void> | null = null;
  private scheduled = false;
  private failure: GovernorError | null = null;
  private spooling = false;
  private spooledCount = 0;
  private fenced = false;
  /** When the last commit started, on the writer's clock. */
  private lastCommitAt = Number.NEGATIVE_INFINITY;

  private constructor(
    readonly chain: string,
    private head: ChainHead,
    private readonly ledger: ReceiptLedger,
    private readonly signer: SigningKey,
    private readonly clock: Clock,
    private readonly maxBatch: number,
    private readonly maxWrites: number,
    private readonly minCommitIntervalMs: number,
    private readonly spool: ReceiptSpool | undefined,
    private readonly checkpointEvery: number,
    private readonly witness: CheckpointWitness | undefined,
    private readonly alerts: AlertSink | undefined,
    private readonly epoch: number | undefined,
    private readonly onFenced: ((chain: string) => void) | undefined,
  ) {}

  /**
   * Opens the writer at the stored head. Receipts spooled before a crash are the newer part of
   * the chain: the head continues after them, and `recover()` flushes them. With an `epoch`,
   * the chain is claimed first: a chain already claimed at a higher epoch rejects with
   * LEDGER_FENCED and no writer is opened.
   */
  static async open(
    chain: string,
    ledger: ReceiptLedger,
    signer: SigningKey,
    clock: Clock,
    options: ChainWriterOptions = {},
  ): Promise<ChainWriter> {
    if (options.epoch !== undefined) await ledger.claim(chain, options.epoch);
    const writer = new ChainWriter(
      chain,
      emptyHead(chain),
      ledger,
      signer,
      clock,
      options.maxBatch ?? DEFAULT_MAX_BATCH,
      ledger.maxWritesPerAppend ?? Number.POSITIVE_INFINITY,
      options.minCommitIntervalMs ?? 0,
      options.spool,
      options.checkpointEvery ?? DEFAULT_CHECKPOINT_EVERY,
      options.witness,
      options.alerts,
      options.epoch,
      options.onFenced,
    );
    await writer.atDurableHead();
    return writer;
  }

  /**
   * Puts the head where the durable chain ends: the stored head, or the spool's where receipts
   * spooled before a crash (or a failure) are the newer part of the chain. A spool no longer
   * ahead of the ledger was flushed by recover() before a crash cut it short of clearing it:
   * it is cleared now, or the next outage would spool after stale entries.
   */
  private async atDurableHead(): Promise<void> {
    const stored = (await this.ledger.head(this.chain)) ?? emptyHead(this.chain);
    const spooled = this.spool ? await this.spool.pending(this.chain) : null;
    this.head = stored;
    this.spooling = false;
    this.spooledCount = 0;
    if (spooled && spooled.head.size <= stored.size) await this.spool?.clear(this.chain);
    if (spooled && spooled.head.size > stored.size) {
      this.head = spooled.head;
      this.spooling = true;
      this.spooledCount = spooled.entries.length;
    }
  }

  /** True once a commit failed for another reason than a newer owner's claim (see `reopen`). */
  get isFailed(): boolean {
    return this.failure !== null && !this.fenced;
  }

  /**
   * Picks a failed (not fenced) writer up again where the durable chain ends, as `open` does
   * after a restart: a dead spool (no file descriptors left, a full disk) or a commit that
   * failed need not wait for a restart. What the failure rejected was never acknowledged (its
   * signals went back to the transport); receipts of it that landed anyway are part of the
   * stored head. Resolves to whether the writer writes again; rejects while the stores still
   * fail. A chain claimed meanwhile by a newer owner fails as fenced.
   */
  async reopen(): Promise<boolean> {
    if (!this.isFailed) return false;
    while (this.flushing) await this.flushing;
    try {
      if (this.epoch !== undefined) await this.ledger.claim(this.chain, this.epoch);
    } catch (e) {
      if (!isFenced(e)) throw e;
      this.fail(fencedError(e), []);
      return false;
    }
    await this.atDurableHead();
    this.failure = null;
    return true;
  }

  get size(): number {
    return this.head.size;
  }

  get currentHead(): ChainHead {
    return this.head;
  }

  /** The bodies of this chain's receipts in the ledger from `seq` on, in order. */
  async *bodiesFrom(seq: number): AsyncIterable<Record<string, unknown>> {
    for await (const record of this.ledger.read(this.chain, { afterSeq: seq - 1 }))
      yield JSON.parse(record.body) as Record<string, unknown>;
  }

  /** Creates the entries this chain's action log lacks, in one commit (see `ReceiptLedger.startActions`). */
  startActions(entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    return this.ledger.startActions(this.chain, entries);
  }

  /** Stores action log entries outside an append: an outcome found on the chain, not written now. */
  putActions(entries: readonly ActionLogEntry[]): Promise<void> {
    return this.ledger.putActions(this.chain, entries);
  }

  /** The actions this chain's log shows running. */
  runningActions(): Promise<ActionLogEntry[]> {
    return this.ledger.runningActions(this.chain);
  }

  /** How many of this chain's actions started at or after `since`: the monthly quota's usage. */
  actionsStartedSince(since: number): Promise<number> {
    return this.ledger.actionsStartedSince(this.chain, since);
  }

  /** True while receipts go to the local spool because the ledger is unavailable. */
  get isSpooling(): boolean {
    return this.spooling;
  }

  get spooled(): number {
    return this.spooledCount;
  }

  /** True once a newer owner's claim refused a commit or a recovery: the writer is done for good. */
  get isFenced(): boolean {
    return this.fenced;
  }

  /**
   * Signs and sequences a receipt now and commits it with what else is pending. `action`, the
   * action log entry the receipt settles, is stored by the same atomic append.
   */
  emit(fields: ReceiptFields, action?: ActionLogEntry): Emitted {
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
      entry: { seq: appended.body.seq, record: appended.record, ...(action ? { action } : {}) },
      head: appended.head,
      resolve,
      reject,
    });
    // A failed commit is reported through each receipt's `durable`; nothing else to do here.
    this.pendingWrites += action ? 2 : 1;
    const full = this.pending.length >= this.maxBatch || this.pendingWrites >= this.maxWrites;
    if (full && this.minCommitIntervalMs === 0) this.flush().catch(() => undefined);
    else this.schedule();
    return { receipt_id: appended.body.receipt_id, seq: appended.body.seq, body: appended.body, durable };
  }

  /** Commits what is pending after this turn, or once the chain's commit interval allows. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      (this.minCommitIntervalMs === 0 ? this.flush() : this.flushPaced()).catch(() => undefined);
    };
    const wait = this.commitWait();
    if (wait > 0) this.clock.setTimeout(run, wait);
    else setImmediate(run);
  }

  /** How long until the chain may commit again: at most one interval, should the clock go back. */
  private commitWait(): number {
    if (this.minCommitIntervalMs === 0) return 0;
    const now = this.clock.now();
    if (now < this.lastCommitAt) this.lastCommitAt = now;
    return this.lastCommitAt + this.minCommitIntervalMs - now;
  }

  /** Commits everything emitted so far, whatever the commit interval; resolves when it is durable. */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    await this.commitNext();
    if (this.pending.length > 0) await this.flush();
  }

  /** One commit when the interval allows; what it leaves waits for the next. */
  private async flushPaced(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.length === 0) return;
    if (this.commitWait() > 0) return this.schedule();
    const committed = this.commitNext();
    if (this.pending.length > 0) this.schedule();
    await committed;
  }

  private commitNext(): Promise<void> {
    if (this.minCommitIntervalMs > 0) this.lastCommitAt = this.clock.now();
    const entries = this.pending.map((p) => p.entry);
    const batch = this.pending.splice(0, appendable(entries, this.maxBatch, this.maxWrites));
    this.pendingWrites = writesOf(entries.slice(batch.length));
    this.flushing = this.commit(batch).finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  /**
   * Sends every spooled receipt to the ledger, in order, then writes directly again. Returns how
   * many. With an `epoch` the chain is claimed again first: if a newer owner claimed it during
   * the outage, nothing of the spool is written (it would fork the chain), the writer fails as
   * fenced and this resolves to 0, so one lost chain does not hold up everyone's recovery.
   */
  async recover(): Promise<number> {
    if (!this.spool || !this.spooling) return 0;
    while (this.flushing) await this.flushing;
    const spooled = await this.spool.pending(this.chain);
    try {
      if (this.epoch !== undefined) await this.ledger.claim(this.chain, this.epoch);
      if (spooled && spooled.entries.length > 0) {
        const rest = await notYetStored(this.ledger, this.chain, spooled.entries, spooled.head);
        if (rest.length > 0) await this.appendInBatches(rest, spooled.head);
      }
    } catch (e) {
      if (!isFenced(e)) throw e;
      // Acknowledged as durable when spooled, these receipts can no longer reach the chain: say
      // so loudly, and keep them in the spool for an operator rather than destroy them.
      const count = this.spooledCount;
      this.spooling = false;
      this.spooledCount = 0;
      this.fail(fencedError(e), []);
      this.alerts?.alert({
        severity: 'critical',
        code: GovernorErrorCode.LEDGER_FENCED,
        message: `${this.chain}: a newer owner claimed the chain during the outage; ${count} spooled receipts (seq ${spooled?.entries[0]?.seq ?? '?'} to ${(spooled?.head.size ?? 0) - 1}) were not written and stay in the spool`,
        details: { chain: this.chain, epoch: this.epoch, spooled: count },
      });
      return 0;
    }
    await this.spool.clear(this.chain);
    const count = this.spooledCount;
    this.spooling = false;
    this.spooledCount = 0;
    await this.flush();
    return count;
  }

  /** Appends `entries`, ending at `head`, in appends the ledger takes, each with the head after it. */
  private async appendInBatches(entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    if (appendable(entries, this.maxBatch, this.maxWrites) === entries.length)
      return this.ledger.append(this.chain, entries, head);
    const builder = new HeadBuilder((await this.ledger.head(this.chain)) ?? emptyHead(this.chain));
    for (let i = 0; i < entries.length;) {
      const batch = entries.slice(i, i + appendable(entries.slice(i), this.maxBatch, this.maxWrites));
      i += batch.length;
      for (const entry of batch) builder.push(entry.record);
      await this.ledger.append(this.chain, batch, builder.head);
    }
  }

  /** Stores a signed checkpoint when this batch carried the chain across a multiple of `checkpointEvery`. */
  private async checkpointIfDue(head: ChainHead, appended: number): Promise<void> {
    const n = this.checkpointEvery;
    if (Math.floor((head.size - appended) / n) === Math.floor(head.size / n)) return;
    try {
      await this.checkpoint(head);
    } catch (e) {
      this.alerts?.alert({
        severity: 'warning',
        code: 'CHECKPOINT_FAILED',
        message: `checkpoint of ${this.chain} at ${head.size} not stored: ${(e as Error).message}`,
      });
    }
  }

  /** Signs and stores a checkpoint of `head` (by default the chain's current committed head). */
  async checkpoint(head: ChainHead = this.head): Promise<string> {
    // A failed (or fenced) writer's head includes receipts that never reached the ledger.
    if (this.failure) throw this.failure;
    const note = signCheckpoint(checkpointOf(head, new Date(this.clock.now())), this.signer);
    await this.ledger.putCheckpoint(this.chain, head.size, note);
    await this.witness?.witness(this.chain, head.size, note);
    return note;
  }

  private async commit(batch: Pending[]): Promise<void> {
    const head = (batch[batch.length - 1] as Pending).head;
    const entries = batch.map((p) => p.entry);
    try {
      if (!this.spooling) {
        try {
          await this.ledger.append(this.chain, entries, head);
        } catch (e) {
          // Only an unavailable store is spooled; a conflict means another writer owns the chain,
          // and a fenced batch belongs to a chain a newer owner has claimed: spooling it would
          // fork the chain when flushed.
          const retryable = !isFenced(e) && (!(e instanceof GovernorError) || e.retryable);
          if (!this.spool || !retryable) throw e;
          this.spooling = true;
        }
      }
      if (this.spooling) {
        await (this.spool as ReceiptSpool).append(this.chain, entries, head);
        this.spooledCount += entries.length;
      } else {
        await this.checkpointIfDue(head, entries.length);
      }
      for (const p of batch) p.resolve();
    } catch (e) {
      // A chain must never fork or skip: after a failed commit nothing later may be written
      // until the owner decides (give the chain up on a conflict, restart on a dead spool).
      const failure =
        e instanceof GovernorError
          ? e
          : isFenced(e)
            ? fencedError(e)
            : new GovernorError(
                'LEDGER_UNAVAILABLE',
                `commit of ${this.chain} failed: ${(e as Error).message}`,
                true,
                { cause: e },
              );
      const unwritten = batch.length + this.pending.length;
      this.fail(failure, batch);
      if (failure.code !== GovernorErrorCode.LEDGER_FENCED)
        this.alerts?.alert({
          severity: 'critical',
          code: 'CHAIN_WRITER_FAILED',
          message: `${this.chain}: a commit failed (${failure.message}); nothing is written to it until it is reopened, tried on every healthy store probe; not ready meanwhile`,
          details: { chain: this.chain, unwritten },
        });
      // Their deliveries are nacked (durable rejected), so the new owner gets them again.
      if (failure.code === GovernorErrorCode.LEDGER_FENCED)
        this.alerts?.alert({
          severity: 'warning',
          code: GovernorErrorCode.LEDGER_FENCED,
          message: `${this.chain}: a newer owner claimed the chain; ${unwritten} receipts not written, giving it up`,
          details: { chain: this.chain, epoch: this.epoch },
        });
      throw failure;
    }
  }

  /**
   * Fails the writer for good: `batch` and everything pending reject with `failure`, later
   * emits throw it. A fenced failure tells the owner, once, to give the chain up.
   */
  private fail(failure: GovernorError, batch: readonly Pending[]): void {
    this.failure = failure;
    for (const p of [...batch, ...this.pending.splice(0)]) p.reject(failure);
    this.pendingWrites = 1;
    if (failure.code !== GovernorErrorCode.LEDGER_FENCED || this.fenced) return;
    this.fenced = true;
    try {
      this.onFenced?.(this.chain);
    } catch (e) {
      this.alerts?.alert({
        severity: 'critical',
        code: 'ON_FENCED_FAILED',
        message: `${this.chain}: giving up the fenced chain failed: ${(e as Error).message}`,
      });
    }
  }
}
