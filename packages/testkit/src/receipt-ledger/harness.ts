import {
  GovernorError,
  type GovernorErrorCode,
  type LedgerEntry,
  type ReceiptLedger,
} from '@governor/governor';
import { emptyHead, SigningKey, verifyLines, type ChainHead, type VerifyReport } from '@governor/receipts';
import { buildEntries, collect, keyringFor, recordLines, type BuiltEntries } from '../entries';

/** A fresh, empty store for one contract test, and how to dispose of it. */
export interface LedgerUnderTest {
  readonly ledger: ReceiptLedger;
  cleanup(): Promise<void>;
  /**
   * Another client of the same store (a second connection, or what a second process would
   * open). When given, races and visibility are checked across clients, not only within one.
   * Each call opens a new client, with claims of its own; the fencing tests need it.
   */
  readonly peer?: () => Promise<ReceiptLedger>;
}

export const TENANT = 'tenants/acme';

/** The key every receipt of the suite is signed with. */
export const KEY = SigningKey.fromSeed(Buffer.alloc(32, 11));

/** `count` receipts of `chain` continuing `from` (by default its start), signed with the suite's key. */
export function batch(chain: string, count: number, from?: ChainHead): BuiltEntries {
  return buildEntries(chain, count, KEY, from);
}

export function linesOf(entries: readonly LedgerEntry[]): string[] {
  return entries.map((e) => JSON.stringify(e.record));
}

export function expectLedgerError(error: unknown, code: GovernorErrorCode, retryable: boolean): void {
  expect(error).toBeInstanceOf(GovernorError);
  expect((error as GovernorError).code).toBe(code);
  expect((error as GovernorError).retryable).toBe(retryable);
}

/** Asserts that `lines` are one unbroken chain of `chain`, signed with the suite's key. */
export async function expectVerifies(chain: string, lines: readonly string[]): Promise<VerifyReport> {
  const report = await verifyLines(lines, { keyring: keyringFor(KEY), expectedChain: chain, threads: 0 });
  expect(report.issues).toEqual([]);
  return report;
}

/** The store of the running test, and the steps the contract's tests share. */
export interface LedgerContext {
  /** The adapter's name, for messages. */
  readonly name: string;
  readonly subject: LedgerUnderTest;
  readonly ledger: ReceiptLedger;
  /** Another client of the store when the adapter offers one; otherwise the same client. */
  peerOrSelf(): Promise<ReceiptLedger>;
  /** Stores receipts in batches of the given sizes and returns the head and lines after them. */
  store(chain: string, ...batches: number[]): Promise<{ head: ChainHead; lines: string[] }>;
  /** Asserts that the stored chain is exactly `head` and `lines`. */
  expectUnchanged(chain: string, head: ChainHead | null, lines: readonly string[]): Promise<void>;
}

/**
 * Registers the hooks that give each test a fresh store from `make` (disposed of after it), and
 * returns a view of that store for the tests to use.
 */
export function useLedger(name: string, make: () => Promise<LedgerUnderTest>): LedgerContext {
  let current: LedgerUnderTest | undefined;

  beforeEach(async () => {
    current = undefined;
    current = await make();
  });

  afterEach(async () => {
    await current?.cleanup();
  });

  const subject = (): LedgerUnderTest => {
    if (current === undefined) throw new Error(`${name}: the store is only open inside a test`);
    return current;
  };

  return {
    name,
    get subject() {
      return subject();
    },
    get ledger() {
      return subject().ledger;
    },
    async peerOrSelf() {
      const s = subject();
      return s.peer ? s.peer() : s.ledger;
    },
    async store(chain, ...batches) {
      let head = emptyHead(chain);
      const lines: string[] = [];
      for (const size of batches) {
        const built = batch(chain, size, head);
        await subject().ledger.append(chain, built.entries, built.head);
        head = built.head;
        lines.push(...linesOf(built.entries));
      }
      return { head, lines };
    },
    async expectUnchanged(chain, head, lines) {
      const { ledger } = subject();
      expect(await ledger.head(chain)).toEqual(head);
      expect(recordLines(await collect(ledger.read(chain)))).toEqual(lines);
    },
  };
}
