import { ForwardingLedger } from './forwarding-ledger';
import type {
  ActionLogEntry,
  Delivery,
  LedgerEntry,
  ReceiptLedger,
  Signal,
  SignalBus,
  SubscribeOptions,
} from '@governor/governor';
import type { ChainHead } from '@governor/receipts';

/** Errors of a store's calls, counted by message (digits elided), a few kept verbatim. */
export class Failures {
  count = 0;
  readonly byKind = new Map<string, number>();

  async watch<T>(call: Promise<T>): Promise<T> {
    try {
      return await call;
    } catch (e) {
      this.count += 1;
      const kind = (e instanceof Error ? e.message : String(e)).replace(/[0-9]+/g, 'N').slice(0, 160);
      this.byKind.set(kind, (this.byKind.get(kind) ?? 0) + 1);
      throw e;
    }
  }

  summary(): Record<string, number> {
    return Object.fromEntries([...this.byKind.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5));
  }
}

const ACTION_COMPLETE = /"operation":"action_complete"/;
const SIGNAL_ID = /"signal_id":"([^"\\]*)"/;

/**
 * The runtime's ledger, observed: forwards everything to the FirestoreLedger and notes, for
 * tenant chains, when each action_complete receipt became durable (its append resolved), the
 * size of every commit and how long it took. `until(n)` resolves once n are durable, so the
 * bench waits on the commits themselves instead of polling the store.
 */
export class ObservingLedger extends ForwardingLedger {
  /** performance.now() when the action_complete receipt of each signal_id became durable. */
  readonly durableAt = new Map<string, number>();
  /** action_complete receipts committed twice for one signal (must stay 0). */
  duplicates = 0;
  /** Tenant-chain receipts other than action_complete and entitlement_active (must stay 0). */
  others = 0;
  /** Since the last reset: receipts per tenant-chain commit, and each commit's duration (ms). */
  batches: number[] = [];
  commitMs: number[] = [];
  /** Failed appends by message (first 5 kept) and in all. */
  readonly failures = new Failures();
  /** Since the last reset: each action-log write-ahead's duration (ms) and how many actions it carried. */
  startMs: number[] = [];
  startSizes: number[] = [];
  /** Failed write-aheads, and actions a write-ahead found already written (a redelivered signal). */
  readonly actionFailures = new Failures();
  notCreated = 0;
  private waiter: { readonly target: number; readonly resolve: () => void } | null = null;

  /** `bySignal` false: only commit sizes and durations (no body is looked at). */
  constructor(
    inner: ReceiptLedger,
    private readonly bySignal = true,
  ) {
    super(inner);
  }

  get complete(): number {
    return this.durableAt.size;
  }

  /** Forgets the commit sizes and durations measured so far (not the durable receipts). */
  reset(): void {
    this.batches = [];
    this.commitMs = [];
    this.startMs = [];
    this.startSizes = [];
  }

  override async startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    const start = performance.now();
    const created = await this.actionFailures.watch(this.inner.startActions(chain, entries));
    this.notCreated += created.filter((c) => !c).length;
    this.startMs.push(performance.now() - start);
    this.startSizes.push(entries.length);
    return created;
  }

  until(target: number): Promise<void> {
    if (this.complete >= target) return Promise.resolve();
    return new Promise((resolve) => (this.waiter = { target, resolve }));
  }

  override async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const start = performance.now();
    await this.failures.watch(this.inner.append(chain, entries, head));
    const at = performance.now();
    if (!chain.startsWith('tenants/')) return;
    this.batches.push(entries.length);
    this.commitMs.push(at - start);
    if (this.bySignal)
      for (const entry of entries) {
        // Bodies are canonical JSON (RFC 8785): a match is cheaper than a parse on the timed path.
        const { body } = entry.record;
        const signal = ACTION_COMPLETE.test(body) ? SIGNAL_ID.exec(body)?.[1] : undefined;
        if (signal !== undefined) {
          if (this.durableAt.has(signal)) this.duplicates += 1;
          else this.durableAt.set(signal, at);
        } else if (!body.includes('"operation":"entitlement_active"')) this.others += 1;
      }
    if (this.waiter !== null && this.complete >= this.waiter.target) {
      this.waiter.resolve();
      this.waiter = null;
    }
  }
}

/**
 * The runtime's bus, observed: notes when each signal was first delivered to the governor and
 * when it was acked, and counts deliveries, redeliveries and nacks.
 */
export class ObservingBus implements SignalBus {
  readonly deliveredAt = new Map<string, number>();
  readonly ackedAt = new Map<string, number>();
  deliveries = 0;
  redeliveries = 0;
  nacks = 0;
  /** Acks of a signal already acked once (a redelivery acked again). */
  reacks = 0;
  private waiter: { readonly target: number; readonly resolve: () => void } | null = null;

  constructor(private readonly inner: SignalBus) {}

  get acked(): number {
    return this.ackedAt.size;
  }

  /** Resolves once `target` distinct signals were acked, or after `timeoutMs`. */
  async untilAcked(target: number, timeoutMs: number): Promise<boolean> {
    if (this.acked >= target) return true;
    let timer: NodeJS.Timeout | undefined;
    const reached = await Promise.race([
      new Promise<true>((resolve) => (this.waiter = { target, resolve: () => resolve(true) })),
      new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    this.waiter = null;
    return reached;
  }

  createTopic(accountId: string): Promise<void> {
    return this.inner.createTopic(accountId);
  }

  deleteTopic(accountId: string): Promise<void> {
    return this.inner.deleteTopic(accountId);
  }

  topicExists(accountId: string): Promise<boolean> {
    return this.inner.topicExists(accountId);
  }

  publish(signal: Signal): Promise<void> {
    return this.inner.publish(signal);
  }

  subscribe(
    accountId: string,
    onDelivery: (delivery: Delivery) => void,
    options?: SubscribeOptions,
  ): Promise<() => Promise<void>> {
    return this.inner.subscribe(accountId, (d) => onDelivery(this.observe(d)), options);
  }

  private observe(d: Delivery): Delivery {
    const id = d.signal.signal_id;
    this.deliveries += 1;
    if (this.deliveredAt.has(id)) this.redeliveries += 1;
    else this.deliveredAt.set(id, performance.now());
    return {
      signal: d.signal,
      ack: () => {
        if (this.ackedAt.has(id)) this.reacks += 1;
        else this.ackedAt.set(id, performance.now());
        if (this.waiter !== null && this.acked >= this.waiter.target) {
          this.waiter.resolve();
          this.waiter = null;
        }
        d.ack();
      },
      nack: () => {
        this.nacks += 1;
        d.nack();
      },
    };
  }
}
