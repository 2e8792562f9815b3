export { systemClock, ActionError } from './ports';
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
} from './ports';
export { GovernorError, GovernorErrorCode, planUnknown } from './errors';
export type { Lease, LeaseStore } from './lease-store';
export { ChainWriter } from './chain-writer';
export type { Emitted, ChainWriterOptions } from './chain-writer';
export { MemorySpool } from './memory-spool';
export { actionMachine } from './machines/action.machine';
export type { ActionInput, ActionContext, ActionFailure, ActionOutcome } from './machines/action.machine';
export { governorMachine, phaseOf } from './machines/governor.machine';
export type { GovernorEvent, GovernorPhase } from './machines/governor.machine';
export { ActionRunner, actionIdOf } from './action-runner';
export type { ActionSignal, ActionResult, ActionRunnerDeps } from './action-runner';
export { TenantGovernor } from './tenant-governor';
export type { TenantGovernorDeps, Accepted, PlanChange, PlanPolicyLoader } from './tenant-governor';
export { GovernorRuntime, needsOwner, type Decommission } from './runtime';
export type {
  Entitlement,
  RuntimeDeps,
  ProvisionResult,
  PolicyPushResult,
  PlanChangeResult,
} from './runtime';
export { HealthMonitor } from './health-monitor';
export type { HealthTarget } from './health-monitor';
export { noopHandler } from './handlers/noop';
export { httpHandler } from './handlers/http';
export type { HttpHandlerOptions } from './handlers/http';
