import { emptyHead, type ChainHead } from '@governor/receipts';
import type { LedgerEntry } from '../../ports';
import { checkEpoch, checkFence, planAppend, planClaim } from '../ledger-rules';
import { batch } from './support';

const CHAIN = 'tenants/acme';
const invalid = { code: 'LEDGER_UNAVAILABLE', retryable: false, cause: { code: 'INVALID_ARGUMENT' } };
const conflict = { code: 'LEDGER_CONFLICT', retryable: false };
const fenced = { code: 'LEDGER_FENCED', retryable: false };

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error('did not throw');
}

describe('planAppend', () => {
  const stored = batch(2);

  it('returns the head after a batch that continues the stored head', () => {
    const next = batch(3, stored.head);
    expect(planAppend(stored.head, CHAIN, next.entries, next.head)).toEqual(next.head);
    const first = batch(2);
    expect(planAppend(emptyHead(CHAIN), CHAIN, first.entries, first.head)).toEqual(first.head);
  });

  const next = batch(3, stored.head);
  const rival = batch(3, stored.head);
  const forged = (entries: readonly LedgerEntry[], at: number): LedgerEntry[] =>
    entries.map((e, i) => (i === at ? { ...e, record: { ...e.record, leaf_hash: '00'.repeat(32) } } : e));
  const cases: Array<[string, ChainHead, readonly LedgerEntry[], ChainHead, object, RegExp]> = [
    [
      'a head of another chain',
      stored.head,
      next.entries,
      { ...next.head, chain: 'tenants/globex' },
      invalid,
      /cannot be stored for/,
    ],
    ['an empty batch', stored.head, [], stored.head, invalid, /empty batch/],
    [
      'a batch at a seq already taken',
      stored.head,
      batch(1).entries,
      batch(1).head,
      conflict,
      /another writer/,
    ],
    [
      'a batch that starts beyond the head',
      emptyHead(CHAIN),
      next.entries,
      next.head,
      conflict,
      /has 0 receipts/,
    ],
    [
      'a first receipt linked to another head',
      batch(2).head,
      next.entries,
      next.head,
      conflict,
      /does not continue/,
    ],
    [
      'seqs with a gap',
      stored.head,
      [next.entries[0]!, next.entries[2]!],
      next.head,
      invalid,
      /not contiguous at seq 3/,
    ],
    [
      'a body that does not hash to its leaf_hash',
      stored.head,
      forged(next.entries, 1),
      next.head,
      invalid,
      /not the hash of its body/,
    ],
    [
      'a claimed head that is not the head after',
      stored.head,
      next.entries,
      stored.head,
      invalid,
      /not the head after/,
    ],
  ];
  it.each(cases)('refuses %s', (_name, head, entries, claimed, error, message) => {
    const e = thrown(() => planAppend(head, CHAIN, entries, claimed));
    expect(e).toMatchObject(error);
    expect((e as Error).message).toMatch(message);
  });

  it('calls a later receipt that links elsewhere malformed, not a conflict: the batch is wrong in itself', () => {
    const mixed = [next.entries[0]!, rival.entries[1]!, next.entries[2]!];
    expect(thrown(() => planAppend(stored.head, CHAIN, mixed, next.head))).toMatchObject(invalid);
  });
});

describe('planClaim', () => {
  it.each([
    ['no fence yet', null, 1, 1],
    ['the stored epoch again (a no-op)', 1, 1, null],
    ['a higher epoch', 1, 2, 2],
    ['epoch 0 on a fresh chain', null, 0, 0],
  ])('with %s stores %p', (_name, stored, epoch, expected) => {
    expect(planClaim(CHAIN, stored, epoch)).toBe(expected);
  });

  it.each([
    ['a lower epoch than the stored one', 3, 2, fenced],
    ['a negative epoch', null, -1, invalid],
    ['a fractional epoch', 1, 1.5, invalid],
    ['an unsafe integer', null, 2 ** 53, invalid],
  ])('refuses %s', (_name, stored, epoch, error) => {
    expect(thrown(() => planClaim(CHAIN, stored, epoch))).toMatchObject(error);
  });
});

describe('checkEpoch', () => {
  it.each([0, 1, 2 ** 53 - 1])('accepts %p', (epoch) => expect(() => checkEpoch(CHAIN, epoch)).not.toThrow());
  it.each([-1, 0.5, NaN, Infinity])('refuses %p', (epoch) =>
    expect(thrown(() => checkEpoch(CHAIN, epoch))).toMatchObject(invalid),
  );
});

describe('checkFence', () => {
  it.each([
    ['an unclaimed chain, unfenced writer', null, undefined],
    ['a fenced chain, a writer that never claimed', 2, undefined],
    ['a writer at the stored epoch', 2, 2],
    ['a writer above the stored epoch', 2, 3],
    ['a writer whose claim is not stored yet', null, 1],
  ])('lets through %s', (_name, stored, claimed) => {
    expect(() => checkFence(CHAIN, stored, claimed)).not.toThrow();
  });

  it('refuses a writer below the stored epoch: a newer owner claimed the chain', () => {
    const e = thrown(() => checkFence(CHAIN, 3, 2));
    expect(e).toMatchObject(fenced);
    expect((e as Error).message).toMatch(/claimed epoch 2 but the chain is now claimed at epoch 3/);
  });
});
