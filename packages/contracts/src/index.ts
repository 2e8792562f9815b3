export {
  ACCOUNT_ID_PATTERN,
  AccountId,
  WorkerId,
  ChainId,
  Hex32,
  KeyId,
  Base64,
  Timestamp,
  Semver,
  parseChainId,
  tenantChain,
} from './ids';
export {
  receiptEnvelope,
  receiptBodySchemas,
  OPERATIONS,
  ReceiptBody,
  StoredReceipt,
  AlertSeverity,
} from './receipt-body';
export type { Operation, ReceiptBodyOf, ReceiptFields, ReceiptFieldsOf, EnvelopeField } from './receipt-body';
export { PublicKeyEntry, KeysFile } from './keys';
export { LowerId, ACTION_HANDLER_KINDS, PolicyAction, PolicyQuotas, Policy } from './policy';
export type { ActionHandlerKind, PolicyActionInput, PolicyInput } from './policy';
export { Signal, EntitlementEvent, ControlMessage, ControlSubscriberId } from './signal';
