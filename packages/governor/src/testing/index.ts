// In-memory adapters of every port: the same contracts as the real adapters (the testkit's
// suites run against each), nothing survives the process. For tests, benchmarks and the
// embedded default's in-process transports; each has the fault switches its tests need.
export { MemoryArchive } from './memory-archive';
export { MemoryBus } from './memory-bus';
export type { BusSubscription } from './memory-bus';
export { MemoryControl } from './memory-control';
export { MemoryDirectory } from './memory-directory';
export { MemoryLeaseStore } from './memory-lease-store';
export type { MemoryLeaseStoreOptions } from './memory-lease-store';
export { MemoryLedger } from './memory-ledger';
export { MemoryRegistry } from './memory-registry';
export { MemorySpool } from './memory-spool';
export { MemoryWitness } from './memory-witness';
export { TestClock, advance, settle, until } from './test-clock';
export { tenantRecord } from './records';
