import type { Policy, ReceiptFields } from '@governor/contracts';
import type { ChainWriter, Emitted } from '../chain/chain-writer';
import type { GovernorEvent, GovernorPhase } from '../machines/governor.machine';
import type { ActionLogEntry, Clock, TenantDirectory, TenantRecord } from '../ports';
import type { RuntimeDeps } from '../runtime-options';
import type { ActionOutcome } from './action-recovery/action.machine';

/**
 * What a runbook may ask of one tenant's governor (`TenantGovernor` implements it). Runbooks
 * see this, never the governor's queue or its runner.
 */
export interface Tenant {
  readonly accountId: string;
  /** Replaced, never mutated, by the runbooks that change it (scale, policy swap). */
  record: TenantRecord;
  policy: Policy;
  readonly phase: GovernorPhase;
  /** Signals waiting for a slot: the lag that drives runbook 3. */
  readonly lag: number;
  readonly inFlight: number;
  readonly outcomes: Readonly<Record<ActionOutcome, number>>;
  readonly writer: ChainWriter;
  readonly directory: TenantDirectory;
  readonly clock: Clock;
  emit(fields: ReceiptFields): Emitted;
  /** An event for the tenant's lifecycle machine. */
  send(event: GovernorEvent): void;
  /** Kinds of the actions in flight: a new policy must keep permitting them. */
  inFlightKinds(): string[];
  /** Starts queued signals that now have a slot (after the in-flight limit went up). */
  pump(): void;
  /** Runs policy swaps (upgrades, plan changes) one after another. */
  serially<T>(fn: () => Promise<T>): Promise<T>;
  /** What follows the policy outside the governor (flow control) follows it; never throws. */
  policySwapped(): Promise<void>;
  drain(timeoutMs: number): Promise<boolean>;
  refuseQueued(reason: 'draining' | 'decommissioned'): number;
  takeRefusedCount(): number;
  reconcile(entry: ActionLogEntry): Promise<ActionOutcome>;
}

/**
 * What a runbook may ask of the runtime that hosts the governors (`GovernorRuntime`
 * implements it): its ports, its worker chain, its governors and their subscriptions.
 */
export interface Host {
  readonly deps: RuntimeDeps;
  /** The worker's own chain: receipts that belong to no tenant (policy pushes, safe mode). */
  readonly worker: ChainWriter;
  get(accountId: string): Tenant | undefined;
  list(): Tenant[];
  /** Opens a tenant chain's writer; under a lease `epoch`, claimed and fenced. */
  openWriter(chain: string, epoch?: number): Promise<ChainWriter>;
  /** Serves a governor for the tenant (not subscribed yet). */
  addGovernor(record: TenantRecord, policy: Policy, writer: ChainWriter): Tenant;
  removeGovernor(accountId: string): void;
  /** Subscribes the tenant's governor to its signals with the flow control its policy asks for. */
  subscribe(accountId: string, policy: Policy): Promise<void>;
  /** Stops the tenant's subscription, if it has one. */
  unsubscribe(accountId: string): Promise<void>;
  /** Stops serving the tenant here (see `GovernorRuntime.relinquish`). */
  relinquish(accountId: string, options: { drain: boolean }): Promise<boolean>;
  /** Work that outlives the call that started it: `stop()` waits for it. */
  background(work: Promise<unknown>): void;
}

/** Whether the governor runs (normal or in safe mode): neither decommissioning nor gone. */
export function isRunning(tenant: Tenant): boolean {
  return tenant.phase === 'normal' || tenant.phase === 'degraded';
}
