import { actionsContract } from './receipt-ledger/actions.contract';
import { appendContract } from './receipt-ledger/append.contract';
import { checkpointsContract } from './receipt-ledger/checkpoints.contract';
import { conflictsContract } from './receipt-ledger/conflicts.contract';
import { fencingContract } from './receipt-ledger/fencing.contract';
import { useLedger, type LedgerUnderTest } from './receipt-ledger/harness';

export type { LedgerUnderTest } from './receipt-ledger/harness';

/**
 * The behaviour every `ReceiptLedger` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each.
 */
export function describeReceiptLedgerContract(name: string, make: () => Promise<LedgerUnderTest>): void {
  describe(`ReceiptLedger contract: ${name}`, () => {
    const ledger = useLedger(name, make);
    describe('append and read', () => appendContract(ledger));
    describe('conflicts', () => conflictsContract(ledger));
    describe('checkpoints', () => checkpointsContract(ledger));
    describe('fencing', () => fencingContract(ledger));
    describe('action log', () => actionsContract(ledger));
  });
}
