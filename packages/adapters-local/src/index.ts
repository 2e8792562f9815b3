export { MemoryLedger } from './memory-ledger';
export { FileLedger } from './file-ledger';
export type { FileLedgerOptions } from './file-ledger';
export { LocalAdapterError, LocalAdapterErrorCode } from './errors';
export { MemoryBus } from './memory-bus';
export { MemoryDirectory } from './memory-directory';
export { MemoryArchive } from './memory-archive';
export { MemoryRegistry } from './memory-registry';
export { LogAlertSink } from './log-alerts';
