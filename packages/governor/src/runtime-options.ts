import type { PublicKeyEntry } from '@governor/contracts';
import type { SigningKey } from '@governor/receipts';
import type {
  ActionHandler,
  AlertSink,
  ArchiveStore,
  CheckpointWitness,
  Clock,
  PolicyRegistry,
  ReceiptLedger,
  ReceiptSpool,
  SignalBus,
  TenantDirectory,
} from './ports';

export interface RuntimeDeps {
  readonly workerId: string;
  readonly ledger: ReceiptLedger;
  readonly directory: TenantDirectory;
  readonly bus: SignalBus;
  readonly archive: ArchiveStore;
  readonly registry: PolicyRegistry;
  readonly handlers: Readonly<Record<string, ActionHandler>>;
  readonly alerts: AlertSink;
  readonly clock: Clock;
  readonly signer: SigningKey;
  /** The public keys written into archives, so an archive verifies on its own. */
  readonly keys: readonly PublicKeyEntry[];
  readonly spool?: ReceiptSpool;
  /** Where every checkpoint is also witnessed (Cloud Storage), independently of the ledger. */
  readonly witness?: CheckpointWitness;
  readonly queueCapacity?: number;
  readonly drainTimeoutMs?: number;
  /**
   * The least time between two commits of one chain (tenant or worker) under load; receipts
   * emitted meanwhile ride in the next commit. Default 0: every turn commits.
   */
  readonly commitIntervalMs?: number;
  /**
   * A tenant chain refused a commit because another worker claimed it at a higher epoch (its
   * lease was taken over): the runtime has already stopped serving the tenant; ownership is told.
   */
  readonly onFenced?: (accountId: string) => void;
  /**
   * Whether this worker may serve the tenant now (scale-out: it surely still holds the lease).
   * Deliveries for a tenant it may not serve go back to the transport; none start an action.
   */
  readonly mayServe?: (accountId: string) => boolean;
}

/** Signals a governor queues beyond its in-flight limit before it refuses more (429 / nack). */
export const DEFAULT_QUEUE_CAPACITY = 1000;
/** How long a drain (decommission, shutdown, handover) waits for running actions. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

/** The drain timeout the runtime was given, or the default. */
export function drainTimeoutMs(deps: RuntimeDeps): number {
  return deps.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
}
