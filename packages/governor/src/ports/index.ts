/**
 * The ports the governor core needs. Each is small; adapters (local, GCP, Kafka) implement them
 * and every adapter passes the same contract suite in @governor/testkit.
 */
export type { Clock } from './clock';
export type { LedgerEntry, ReceiptLedger } from './receipt-ledger';
export type { ReceiptSpool } from './receipt-spool';
export type { AlertSeverity, AlertSink } from './alert-sink';
export type { ActionHandler, ActionRequest } from './action-handler';
export type { Delivery, Signal, SignalBus, SubscribeOptions } from './signal-bus';
export type { ControlChannel, ControlMessage, EntitlementEvent } from './control-channel';
export type { ActionLogEntry } from './action-log';
export type { TenantDirectory, TenantRecord } from './tenant-directory';
export type { ArchiveStore } from './archive-store';
export type { PolicyRegistry } from './policy-registry';
export type { CheckpointWitness } from './checkpoint-witness';
export type { Lease, LeaseStore } from './lease-store';
