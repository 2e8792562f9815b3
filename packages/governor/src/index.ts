export { systemClock, ActionError } from './ports';
export type {
  Clock,
  LedgerEntry,
  ReceiptLedger,
  AlertSink,
  AlertSeverity,
  ActionRequest,
  ActionHandler,
} from './ports';
export { GovernorError, GovernorErrorCode } from './errors';
export { ChainWriter } from './chain-writer';
export type { Emitted, ChainWriterOptions } from './chain-writer';
export { MemorySpool } from './memory-spool';
export { actionMachine } from './machines/action.machine';
export { ActionRunner } from './action-runner';
export type { ActionSignal, ActionResult, ActionRunnerDeps } from './action-runner';
export type { ActionInput, ActionContext, ActionFailure, ActionOutcome } from './machines/action.machine';
