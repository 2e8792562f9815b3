import type { StoredReceipt } from '@governor/contracts';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { checkChainId } from '../chain/chain-id';
import { ledgerInvalidArgument } from '../chain/ledger-errors';
import {
  actionsOf,
  checkEpoch,
  checkFence,
  planAppend,
  planClaim,
  planStartActions,
} from '../chain/ledger-rules';
import { storedRecord } from '../chain/stored-record';
import { GovernorError } from '../errors';
import type { ActionLogEntry, LedgerEntry, ReceiptLedger } from '../ports';

interface StoredChain {
  head: ChainHead;
  readonly records: StoredReceipt[];
}

/** What every client of one in-memory store shares: what a server would hold. */
interface MemoryStore {
  readonly chains: Map<string, StoredChain>;
  readonly checkpoints: Map<string, Map<number, string>>;
  /** Per chain, the highest fencing epoch any client has claimed it under. */
  readonly fences: Map<string, number>;
  /** Per chain, its action log by action id. */
  readonly actions: Map<string, Map<string, ActionLogEntry>>;
}

function copyHead(head: ChainHead): ChainHead {
  return { ...head, tree: { size: head.tree.size, roots: [...head.tree.roots] } };
}

/**
 * An in-process ReceiptLedger: same contract as the durable ones, nothing survives the process.
 * For unit tests and for fast paths that need no durability. `setOutage` makes it behave like a
 * store that is down, for safe-mode tests, and `failNextAppend` like one append that fails (or
 * times out after it landed). `connect()` opens another client of the same store (what a second
 * worker process would hold), with its own claims, its own outage switch and its own faults.
 */
export class MemoryLedger implements ReceiptLedger {
  private store: MemoryStore = {
    chains: new Map(),
    checkpoints: new Map(),
    fences: new Map(),
    actions: new Map(),
  };
  /** The epoch this client claimed each chain under; chains it never claimed append unfenced. */
  private readonly claims = new Map<string, number>();
  private outage: string | null = null;
  private nextAppendFault: { readonly error: Error; readonly lands: boolean } | null = null;
  /** The size of each batch this client appended, in order: what a group commit sent. */
  readonly batches: number[] = [];

  /** Another client of this store: sees every write and claim; its own claims fence only its own appends. */
  connect(): MemoryLedger {
    const client = new MemoryLedger();
    client.store = this.store;
    return client;
  }

  /** While `reason` is not null every call of this client fails with a retryable LEDGER_UNAVAILABLE. */
  setOutage(reason: string | null): void {
    this.outage = reason;
  }

  /**
   * Fails the next append of this client with `error`; with `lands`, the batch is stored first,
   * as a commit that timed out on a stalled store may have been.
   */
  failNextAppend(error: Error, options: { readonly lands?: boolean } = {}): void {
    this.nextAppendFault = { error, lands: options.lands ?? false };
  }

  head(chain: string): Promise<ChainHead | null> {
    return this.run(() => {
      checkChainId(chain);
      const stored = this.store.chains.get(chain);
      return stored ? copyHead(stored.head) : null;
    });
  }

  claim(chain: string, epoch: number): Promise<void> {
    return this.run(() => {
      checkChainId(chain);
      checkEpoch(chain, epoch);
      // Even a refused claim is this client's claim: its appends to the chain are fenced too.
      this.claims.set(chain, epoch);
      const fence = planClaim(chain, this.store.fences.get(chain) ?? null, epoch);
      if (fence !== null) this.store.fences.set(chain, fence);
    });
  }

  append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const fault = this.nextAppendFault;
    if (fault) {
      this.nextAppendFault = null;
      if (fault.lands) void this.append(chain, entries, head).catch(() => undefined);
      return Promise.reject(fault.error);
    }
    return this.run(() => {
      checkChainId(chain);
      checkFence(chain, this.store.fences.get(chain) ?? null, this.claims.get(chain));
      const stored = this.store.chains.get(chain);
      // Checked and applied in one synchronous step, so a racing append sees all of it or none.
      const next = planAppend(stored?.head ?? emptyHead(chain), chain, entries, head);
      const records = entries.map((e) => storedRecord(e.record));
      if (stored) {
        stored.records.push(...records);
        stored.head = next;
      } else {
        this.store.chains.set(chain, { head: next, records });
      }
      this.store.actions.set(chain, this.logOf(chain, actionsOf(entries)));
      this.batches.push(entries.length);
    });
  }

  startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    return this.run(() => {
      checkChainId(chain);
      const log = this.store.actions.get(chain);
      const created = planStartActions(entries, (id) => log?.has(id) === true);
      this.store.actions.set(
        chain,
        this.logOf(
          chain,
          entries.filter((_, i) => created[i]),
        ),
      );
      return created;
    });
  }

  putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void> {
    return this.run(() => {
      checkChainId(chain);
      this.store.actions.set(chain, this.logOf(chain, entries));
    });
  }

  runningActions(chain: string): Promise<ActionLogEntry[]> {
    return this.run(() => {
      checkChainId(chain);
      return [...(this.store.actions.get(chain)?.values() ?? [])].filter((e) => e.state === 'running');
    });
  }

  actionsStartedSince(chain: string, since: number): Promise<number> {
    return this.run(() => {
      checkChainId(chain);
      const entries = [...(this.store.actions.get(chain)?.values() ?? [])];
      return entries.filter((e) => (e.started_at ?? -Infinity) >= since).length;
    });
  }

  /** The chain's action log with `entries` written over it (a copy: the stored one is replaced whole). */
  private logOf(chain: string, entries: readonly ActionLogEntry[]): Map<string, ActionLogEntry> {
    const log = new Map(this.store.actions.get(chain));
    for (const e of entries) log.set(e.action_id, { ...e });
    return log;
  }

  async *read(
    chain: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): AsyncIterable<StoredReceipt> {
    const records = await this.run(() => {
      checkChainId(chain);
      const all = this.store.chains.get(chain)?.records ?? [];
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
        throw ledgerInvalidArgument(`checkpoint size ${size} is not a size`);
      let notes = this.store.checkpoints.get(chain);
      if (!notes) this.store.checkpoints.set(chain, (notes = new Map<number, string>()));
      notes.set(size, note);
    });
  }

  latestCheckpoint(chain: string): Promise<string | null> {
    return this.run(() => {
      checkChainId(chain);
      const notes = this.store.checkpoints.get(chain);
      if (!notes || notes.size === 0) return null;
      return notes.get(Math.max(...notes.keys())) ?? null;
    });
  }

  /** Every entry of `chain`'s action log, in the order first written. */
  actionLog(chain: string): ActionLogEntry[] {
    return [...(this.store.actions.get(chain)?.values() ?? [])];
  }

  /** Every checkpoint stored for `chain`, by size. */
  checkpointsOf(chain: string): { size: number; note: string }[] {
    const notes = this.store.checkpoints.get(chain) ?? new Map<number, string>();
    return [...notes].sort(([a], [b]) => a - b).map(([size, note]) => ({ size, note }));
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
