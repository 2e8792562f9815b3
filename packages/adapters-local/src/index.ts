export { MemoryLedger } from './memory-ledger';
export { FileLedger } from './file-ledger';
export type { FileLedgerOptions } from './file-ledger';
export { LocalAdapterError, LocalAdapterErrorCode } from './errors';
export { FileBus } from './file-bus';
export { MemoryBus } from './memory-bus';
export { MemoryDirectory } from './memory-directory';
export { MemoryArchive } from './memory-archive';
export { MemoryRegistry } from './memory-registry';
export { LogAlertSink } from './log-alerts';
export { FileDirectory } from './file-directory';
export { DirectoryArchive } from './directory-archive';
export { DirectoryPolicyRegistry } from './directory-policy-registry';
export { FileSpool } from './file-spool';
export { MemoryWitness } from './memory-witness';
// The ledger rules every ReceiptLedger applies, shared with the cloud ledgers.
export { planAppend, planClaim, checkEpoch, checkFence, HeadBuilder, sameHead } from './head-builder';
export { checkChainId } from './chain-id';
export { storedRecord } from './records';
export { MemoryControl } from './memory-control';
export { openLocalStores, REPO_POLICIES } from './local-stores';
export { DataDirInUse, lockDataDir, openLockedLocalStores, URL_FILE } from './data-dir-lock';
export { loadSigningKey, KEY_FILE, KEYS_FILE } from './signing-key-files';
// The lease rules every LeaseStore applies, shared with the cloud lease stores.
export {
  MemoryLeaseStore,
  planAcquire,
  planRenew,
  planRelease,
  leaseIsLive,
  checkLeaseArgs,
  checkLease,
} from './memory-lease-store';
export type { MemoryLeaseStoreOptions } from './memory-lease-store';
