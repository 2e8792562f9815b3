export { systemClock } from './clock';
export { ActionError } from './runbooks/action-recovery/action-error';
export type {
  Clock,
  LedgerEntry,
  ReceiptLedger,
  ReceiptSpool,
  AlertSink,
  AlertSeverity,
  ActionRequest,
  ActionHandler,
  Signal,
  Delivery,
  SignalBus,
  TenantRecord,
  ActionLogEntry,
  TenantDirectory,
  ArchiveStore,
  PolicyRegistry,
  CheckpointWitness,
  SubscribeOptions,
  EntitlementEvent,
  ControlMessage,
  ControlChannel,
  Lease,
  LeaseStore,
} from './ports';
export {
  GovernorError,
  GovernorErrorCode,
  ensureGovernorError,
  invalidAccountId,
  isRetryable,
  planUnknown,
  policyInvalid,
  skuNotInPlan,
  storeRefused,
  storeUnavailable,
} from './errors';
export type { Store } from './errors';
export { ChainWriter } from './chain/chain-writer';
export type { Emitted, ChainWriterOptions } from './chain/chain-writer';
// The ledger and lease rules every adapter applies, whatever it stores to.
export {
  planAppend,
  planClaim,
  checkEpoch,
  checkFence,
  writesOf,
  checkWrites,
  actionsOf,
  planStartActions,
} from './chain/ledger-rules';
export { HeadBuilder, sameHead } from './chain/head-builder';
export type { LinkProblem } from './chain/head-builder';
export { checkChainId } from './chain/chain-id';
export { storedRecord } from './chain/stored-record';
export { ledgerConflict, ledgerFenced, ledgerInvalidArgument } from './chain/ledger-errors';
export {
  planAcquire,
  planRenew,
  planRelease,
  leaseIsLive,
  checkLeaseArgs,
  checkLease,
} from './leases/lease-rules';
export { governorMachine, phaseOf } from './machines/governor.machine';
export type { GovernorEvent, GovernorPhase } from './machines/governor.machine';
export { TenantGovernor } from './tenant-governor';
export type { TenantGovernorDeps, Accepted } from './tenant-governor';
export { GovernorRuntime } from './runtime';
export { DEFAULT_DRAIN_TIMEOUT_MS, DEFAULT_QUEUE_CAPACITY, type RuntimeDeps } from './runtime-options';
// The seven runbooks, one folder each (runbooks/), and what they may ask of their host.
export { runbooks } from './runbooks';
export type { Host, Tenant } from './runbooks';
export { needsOwner } from './runbooks/entitlement';
export type { Entitlement, ProvisionResult } from './runbooks/entitlement';
export type { PolicyPushResult } from './runbooks/policy-upgrade';
export type { PlanChange, PlanChangeResult, PlanPolicyLoader } from './runbooks/plan-change';
export type { Decommission } from './runbooks/decommission';
export { actionMachine, ActionRunner, actionIdOf } from './runbooks/action-recovery';
export type {
  ActionInput,
  ActionContext,
  ActionEmitted,
  ActionFailure,
  ActionOutcome,
  ActionSignal,
  ActionResult,
  ActionRunnerDeps,
} from './runbooks/action-recovery';
export { HealthMonitor } from './runbooks/safe-mode/health-monitor';
export type { HealthTarget } from './runbooks/safe-mode/health-monitor';
export { noopHandler } from './runbooks/action-recovery/handlers/noop';
export { httpHandler } from './runbooks/action-recovery/handlers/http';
export type { HttpHandlerOptions } from './runbooks/action-recovery/handlers/http';
