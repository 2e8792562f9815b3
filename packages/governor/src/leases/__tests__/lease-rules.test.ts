import type { Lease } from '../../ports';
import { checkLease, checkLeaseArgs, leaseIsLive, planAcquire, planRelease, planRenew } from '../lease-rules';

const NOW = 10_000;
const held: Lease = { account_id: 'acme', holder: 'worker-a', epoch: 3, expires_at: NOW + 500 };
const expired: Lease = { ...held, expires_at: NOW };
const released: Lease = { ...held, expires_at: 0 };
const invalid = { code: 'LEASE_UNAVAILABLE', retryable: false };

describe('leaseIsLive', () => {
  it.each([
    ['before expires_at', held, true],
    ['at expires_at', expired, false],
    ['released', released, false],
  ])('%s: %p', (_name, lease, live) => expect(leaseIsLive(lease, NOW)).toBe(live));
});

describe('planAcquire', () => {
  const ask = (holder: string) => ({ accountId: 'acme', holder, ttlMs: 1_000 });
  it.each<[string, Lease | null, string, Lease | null]>([
    [
      'no lease yet: epoch 1',
      null,
      'worker-b',
      { account_id: 'acme', holder: 'worker-b', epoch: 1, expires_at: 11_000 },
    ],
    ['its own live lease: renewed, same epoch', held, 'worker-a', { ...held, expires_at: 11_000 }],
    ["another holder's live lease: nothing", held, 'worker-b', null],
    [
      'an expired lease: taken, next epoch',
      expired,
      'worker-b',
      { ...held, holder: 'worker-b', epoch: 4, expires_at: 11_000 },
    ],
    [
      'its own expired lease: taken again, next epoch',
      expired,
      'worker-a',
      { ...held, epoch: 4, expires_at: 11_000 },
    ],
    [
      'a released lease: taken, next epoch',
      released,
      'worker-b',
      { ...held, holder: 'worker-b', epoch: 4, expires_at: 11_000 },
    ],
  ])('%s', (_name, current, holder, expected) => {
    expect(planAcquire(current, ask(holder), NOW)).toEqual(expected);
  });
});

describe('planRenew and planRelease', () => {
  it.each<[string, Lease | null, Lease | null, Lease | null]>([
    ['still held', held, { ...held, expires_at: 11_000 }, released],
    ['expired but not taken', expired, { ...held, expires_at: 11_000 }, released],
    ['gone', null, null, null],
    ['taken by another holder', { ...held, holder: 'worker-b', epoch: 4 }, null, null],
    ['re-taken under a newer epoch', { ...held, epoch: 4 }, null, null],
    ['already released', released, null, null],
  ])('a lease %s', (_name, current, renewed, releasedAs) => {
    expect(planRenew(current, held, 1_000, NOW)).toEqual(renewed);
    expect(planRelease(current, held)).toEqual(releasedAs);
  });
});

describe('checkLeaseArgs and checkLease', () => {
  it('accepts well-formed ids and a positive whole ttl', () => {
    expect(() => checkLeaseArgs({ accountId: 'acme', workerId: 'worker-a', ttlMs: 1 })).not.toThrow();
    expect(() => checkLeaseArgs({})).not.toThrow();
    expect(() => checkLease(held)).not.toThrow();
  });

  it('refuses an account id that is no document name with INVALID_ACCOUNT_ID, not a store code', () => {
    expect(() => checkLeaseArgs({ accountId: 'a/b' })).toThrow(
      expect.objectContaining({
        code: 'INVALID_ACCOUNT_ID',
        retryable: false,
        message: 'not an account id: "a/b"',
      }),
    );
  });

  it.each([
    ['an empty worker id', { workerId: '' }, /not a worker id/],
    ['a zero ttl', { ttlMs: 0 }, /positive whole number/],
    ['a negative ttl', { ttlMs: -5 }, /positive whole number/],
    ['a fractional ttl', { ttlMs: 1.5 }, /positive whole number/],
    ['a ttl that is not a number', { ttlMs: NaN }, /positive whole number/],
  ])('refuses %s', (_name, args, message) => {
    expect(() => checkLeaseArgs(args)).toThrow(
      expect.objectContaining({ ...invalid, message: expect.stringMatching(message) }),
    );
  });

  it.each([
    ['epoch 0', { ...held, epoch: 0 }, /not a lease epoch/],
    ['a fractional epoch', { ...held, epoch: 1.5 }, /not a lease epoch/],
    ['a holder that is no worker id', { ...held, holder: 'Worker A' }, /not a worker id/],
  ])('refuses a lease with %s', (_name, lease, message) => {
    expect(() => checkLease(lease)).toThrow(
      expect.objectContaining({ ...invalid, message: expect.stringMatching(message) }),
    );
  });
});
