import { tenantChain } from '@governor/contracts';
import { sleep } from '../e2e-support';
import { headSizes, type Run } from './setup';

/** A run gives up when no chain has grown for this long. */
export const STALL_MS = 30_000;

/**
 * Watches chains until every signal published to them has its action_complete: chain heads are
 * polled every `pollMs` (the time each size was first seen is kept); a chain whose head reached
 * what it should is read from where its last read stopped, and whatever is still missing raises
 * what its head must reach (other receipts, such as a scale_up, share the chain).
 */
export class Completion {
  private readonly history: { t: number; size: number }[][];
  private readonly want: number[];
  private readonly afterSeq: number[];
  private readonly seen: Map<string, number>[];
  /** The seq of the last action_complete of a watched signal, per chain. */
  private readonly lastSeq: number[];
  private readonly done: boolean[];
  private sizes: number[];
  private stopped = false;
  private lastGrowth = performance.now();
  private poller: Promise<void> = Promise.resolve();
  /** Head polls that failed in a row, and the last failure. */
  private failures = 0;
  private lastFailure = '';

  constructor(
    private readonly run: Run,
    private readonly tenants: readonly string[],
    private readonly ids: readonly (readonly string[])[],
    base: readonly number[],
    private readonly start: number,
    private readonly pollMs: number,
  ) {
    this.history = tenants.map(() => []);
    this.want = base.map((b, i) => b + (ids[i]?.length ?? 0));
    this.afterSeq = base.map((b) => b - 1);
    this.seen = tenants.map(() => new Map());
    this.lastSeq = tenants.map(() => -1);
    this.done = ids.map((x) => x.length === 0);
    this.sizes = [...base];
  }

  begin(): void {
    this.poller = (async () => {
      while (!this.stopped) {
        try {
          const sizes = await headSizes(this.run, this.tenants);
          const t = performance.now() - this.start;
          sizes.forEach((s, i) => {
            const h = this.history[i] as { t: number; size: number }[];
            if (h.length === 0 || (h[h.length - 1] as { size: number }).size !== s) {
              h.push({ t, size: s });
              this.lastGrowth = performance.now();
            }
          });
          this.sizes = sizes;
          this.failures = 0;
        } catch (e) {
          this.failures += 1;
          this.lastFailure = e instanceof Error ? e.message : String(e);
        }
        await sleep(this.pollMs);
      }
    })();
  }

  /** Resolves once every watched signal has its action_complete; false when nothing grew for STALL_MS. */
  async settle(progress?: () => void): Promise<boolean> {
    let lastNote = performance.now();
    for (;;) {
      if (this.failures >= 10)
        throw new Error(
          `polling the chain heads failed ${this.failures} times in a row: ${this.lastFailure}`,
        );
      for (let i = 0; i < this.tenants.length; i++) {
        if (this.done[i] || (this.sizes[i] ?? 0) < (this.want[i] ?? 0)) continue;
        await this.catchUp(i);
      }
      if (this.done.every(Boolean)) return true;
      if (performance.now() - this.lastGrowth > STALL_MS) {
        // What did complete, for the partial figures.
        for (let i = 0; i < this.tenants.length; i++) if (!this.done[i]) await this.catchUp(i);
        return false;
      }
      if (progress && performance.now() - lastNote > 5_000) {
        progress();
        lastNote = performance.now();
      }
      await sleep(Math.min(this.pollMs, 50));
    }
  }

  private async catchUp(i: number): Promise<void> {
    const chain = tenantChain(this.tenants[i] as string);
    const seen = this.seen[i] as Map<string, number>;
    const ids = new Set(this.ids[i]);
    const from = this.afterSeq[i] as number;
    for await (const r of this.run.p.stores.ledger.read(chain, from >= 0 ? { afterSeq: from } : {})) {
      const body = JSON.parse(r.body) as { operation: string; seq: number; signal_id?: string };
      this.afterSeq[i] = body.seq;
      if (body.operation === 'action_complete' && body.signal_id !== undefined && ids.has(body.signal_id)) {
        seen.set(body.signal_id, (seen.get(body.signal_id) ?? 0) + 1);
        this.lastSeq[i] = body.seq;
      }
    }
    const missing = [...ids].filter((id) => !seen.has(id)).length;
    if (missing === 0) this.done[i] = true;
    else this.want[i] = (this.afterSeq[i] as number) + 1 + missing;
  }

  /** Watched signals whose action_complete was read back. */
  get confirmed(): number {
    return this.seen.reduce((sum, m) => sum + m.size, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.poller;
  }

  get polledTotal(): number {
    return this.sizes.reduce((a, b) => a + b, 0);
  }

  /**
   * Per chain, ms from `start` to the first poll that saw its last watched action_complete
   * (null while it has not all; with `partial`, its last one so far); the durable time is at most
   * that, and after the poll before.
   */
  finishedAt(partial = false): (number | null)[] {
    return this.tenants.map((_, i) => {
      const last = this.lastSeq[i] as number;
      if ((!partial && !this.done[i]) || last < 0) return null;
      return (this.history[i] ?? []).find((h) => h.size > last)?.t ?? null;
    });
  }
}
