export {
  ActionRunner,
  actionIdOf,
  type ActionResult,
  type ActionRunnerDeps,
  type ActionSignal,
} from './action-runner';
export {
  actionMachine,
  type ActionContext,
  type ActionEmitted,
  type ActionFailure,
  type ActionInput,
  type ActionOutcome,
} from './action.machine';
export { writeActionReceipts, UNWRITTEN_RECEIPT } from './action-receipts';
export { withinMs } from './within';
export { ActionError } from './action-error';
export { noopHandler } from './handlers/noop';
export { httpHandler, type HttpHandlerOptions } from './handlers/http';
