export { buildEntries, collect, keyringFor, recordLines, seqsOf, TEST_EPOCH } from './entries';
export type { BuiltEntries } from './entries';
export { describeReceiptLedgerContract } from './receipt-ledger.contract';
export type { LedgerUnderTest } from './receipt-ledger.contract';
