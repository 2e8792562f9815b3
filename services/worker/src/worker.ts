import {
  ActionError,
  GovernorRuntime,
  HealthMonitor,
  httpHandler,
  noopHandler,
  systemClock,
  type ActionHandler,
} from '@governor/governor';
import type { Logger } from 'pino';
import { logAlerts } from './alerts';
import type { Keyring } from '@governor/receipts';
import { loadSigner, openStores, type GovernorConfig, type Stores } from '@governor/stores';
import { applyControl } from './control-handler';
import { Ownership } from './ownership';

/** An `http` action with no secret configured fails with a receipt that says what to set. */
const unconfiguredHttp: ActionHandler = {
  run: () =>
    Promise.reject(new ActionError('NO_ACTION_SECRET', 'set GOVERNOR_ACTION_SECRET for http actions')),
  rollback: () => Promise.resolve(),
};

/**
 * One worker process: the runtime on the configured stores, the store health monitor (safe
 * mode), the lag observer (scaling), and the control subscription (provision, cancel, policy).
 * `open` gets it ready to take tenants; `takeOver` takes them (resuming and reconciling each,
 * which may take a while) and starts the rest; `start` does both.
 */
export class Worker {
  private stopping: Promise<void> | null = null;
  private takingOver: Promise<void> | null = null;
  private monitor: HealthMonitor | null = null;
  private lagTimer: NodeJS.Timeout | null = null;
  private stopControl: (() => Promise<void>) | null = null;

  private constructor(
    readonly config: GovernorConfig,
    readonly runtime: GovernorRuntime,
    readonly stores: Stores,
    /** The public keys receipts verify with (served at /v1/keys, written into archives). */
    readonly keyring: Keyring,
    private readonly log: Logger,
    /** Tenant leases shared with peer workers (gcp); null on the embedded default. */
    readonly ownership: Ownership | null,
    /** The id of the key this worker signs with. */
    readonly keyId: string,
  ) {}

  static async start(config: GovernorConfig, log: Logger): Promise<Worker> {
    const worker = await Worker.open(config, log);
    await worker.takeOver();
    return worker;
  }

  /** Stores open, signing key loaded, runtime started: no tenant served yet. */
  static async open(config: GovernorConfig, log: Logger): Promise<Worker> {
    const stores = await openStores(config);
    const { signer, keyring } = await loadSigner(config);
    const alerts = logAlerts(log);
    let ownership: Ownership | null = null;
    const runtime = await GovernorRuntime.start({
      workerId: config.workerId,
      ledger: stores.ledger,
      directory: stores.directory,
      bus: stores.bus,
      archive: stores.archive,
      registry: stores.registry,
      spool: stores.spool,
      ...(stores.witness ? { witness: stores.witness } : {}),
      handlers: {
        noop: noopHandler,
        http: config.actionSecret ? httpHandler({ secret: config.actionSecret }) : unconfiguredHttp,
      },
      alerts,
      clock: systemClock,
      signer,
      keys: keyring.entries(),
      drainTimeoutMs: config.drainTimeoutMs,
      commitIntervalMs: config.commitIntervalMs,
      onFenced: (accountId) => ownership?.fenced(accountId),
      // With peers, only while this worker surely still holds the tenant's lease.
      mayServe: (accountId) => ownership?.mayServe(accountId) ?? true,
    });
    ownership = stores.leases
      ? new Ownership({
          workerId: config.workerId,
          leases: stores.leases,
          directory: stores.directory,
          tenants: runtime,
          alerts,
          log,
          leaseMs: config.leaseMs,
          clock: systemClock,
        })
      : null;
    return new Worker(config, runtime, stores, keyring, log, ownership, signer.keyId);
  }

  /**
   * With peers (leases), takes this worker's share of the tenants, reconciling each one's
   * running actions; alone, resumes every tenant it ran before a restart or crash. Then starts
   * the health monitor, the lag observer and the control subscription. Once only.
   */
  takeOver(): Promise<void> {
    this.takingOver ??= this.takeTenants();
    return this.takingOver;
  }

  private async takeTenants(): Promise<void> {
    const { config, runtime, stores, log, ownership } = this;
    if (ownership) {
      await ownership.start();
      log.info({ owned: ownership.owned().length, lease_ms: config.leaseMs }, 'took a share of the tenants');
    } else log.info(await runtime.resume(), 'resumed tenants');

    this.monitor = new HealthMonitor(() => stores.ledger.probe(), runtime, systemClock, {
      intervalMs: config.healthIntervalMs,
      threshold: config.healthThreshold,
      onError: (e) => log.error({ err: e }, 'entering safe mode failed'),
    });
    this.monitor.start();
    this.lagTimer = setInterval(() => {
      runtime.observeLag().catch((e: unknown) => log.error({ err: e }, 'lag observation failed'));
    }, config.lagWindowMs);
    this.lagTimer.unref();

    this.stopControl = await stores.control.subscribe(config.workerId, (message, settle) => {
      applyControl(runtime, message, log, ownership ?? undefined).then(
        (outcome) => (outcome === 'ack' ? settle.ack() : settle.nack()),
        (e: unknown) => {
          log.error({ err: e, kind: message.kind }, 'control message failed; it will be redelivered');
          settle.nack();
        },
      );
    });
    log.info({ worker_id: config.workerId, backend: config.backend, key_id: this.keyId }, 'worker ready');
  }

  /** Graceful stop (SIGTERM): stop taking control messages and signals, let actions finish, flush. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.log.info('stopping: no new signals; waiting for actions and receipts');
      // A take-over under way finishes first (whether it succeeds or not), then all stops.
      await this.takingOver?.catch(() => undefined);
      if (this.lagTimer) clearInterval(this.lagTimer);
      await this.stopControl?.();
      // Tenants drain here and their leases go back, so peers take them over at once.
      await this.ownership?.stop();
      await this.monitor?.stop();
      await this.runtime.stop();
      await this.stores.close();
      this.log.info('stopped');
    })();
    return this.stopping;
  }
}
