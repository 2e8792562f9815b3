import type { Clock } from '../../ports';

export interface HealthTarget {
  readonly degraded: boolean;
  degrade(errorCode: string, failures: number): Promise<void>;
  recover(): Promise<void>;
  /** Flushes what a chain spooled on a failed commit while the store stayed healthy enough. */
  flushSpools?(): Promise<unknown>;
}

/**
 * Runbook 4's detector: probes the store every `intervalMs`; after `threshold` consecutive
 * failures the target degrades, and the first success after that recovers it. Runs on the
 * injected clock, so tests step simulated time instead of sleeping.
 */
export class HealthMonitor {
  private failures = 0;
  private timer: unknown = null;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly probe: () => Promise<void>,
    private readonly target: HealthTarget,
    private readonly clock: Clock,
    private readonly options: { intervalMs: number; threshold: number; onError?: (e: unknown) => void },
  ) {}

  start(): void {
    this.stopped = false;
    const loop = () => {
      if (this.stopped) return;
      this.timer = this.clock.setTimeout(() => {
        this.running = this.tick().finally(loop);
      }, this.options.intervalMs);
    };
    loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One probe; exposed so a caller can check health on demand. */
  async tick(): Promise<void> {
    try {
      await this.probe();
      this.failures = 0;
      if (this.target.degraded) await this.target.recover();
      else await this.target.flushSpools?.().catch((e: unknown) => this.options.onError?.(e));
    } catch (e) {
      this.failures += 1;
      if (this.failures >= this.options.threshold && !this.target.degraded) {
        const code = (e as { code?: unknown }).code;
        await this.target
          .degrade(typeof code === 'string' ? code : 'UNAVAILABLE', this.failures)
          .catch((err: unknown) => this.options.onError?.(err));
      }
    }
  }
}
