import { AccountId, WorkerId } from '@governor/contracts';
import { GovernorError, invalidAccountId, storeRefused } from '../errors';

/** A call no lease store accepts (a bad worker id, ttl or epoch): retrying it cannot help. */
function invalidArgument(message: string): GovernorError {
  return storeRefused('lease', message, new GovernorError('INVALID_ARGUMENT', message, false));
}
import type { Lease } from '../ports';

// The lease rules every LeaseStore applies, whatever it stores to: each takes the lease as last
// read (null when there is none) and says what to write instead (null: nothing).

/** Whether `lease` is still held at `now`: a released lease (expires_at 0) never is. */
export function leaseIsLive(lease: Lease, now: number): boolean {
  return lease.expires_at > now;
}

/**
 * The lease to write when `holder` asks for `current`: renewed under the same epoch when the
 * holder has it live, taken under the next epoch when it is absent, expired or released; null
 * when another holder's lease is live (the answer is then null too).
 */
export function planAcquire(
  current: Lease | null,
  request: { readonly accountId: string; readonly holder: string; readonly ttlMs: number },
  now: number,
): Lease | null {
  const expires_at = now + request.ttlMs;
  if (current && leaseIsLive(current, now))
    return current.holder === request.holder ? { ...current, expires_at } : null;
  return {
    account_id: request.accountId,
    holder: request.holder,
    epoch: (current?.epoch ?? 0) + 1,
    expires_at,
  };
}

/** Whether `current` is still `lease`'s: same holder, same epoch, not released (expired is fine). */
function stillHeld(current: Lease | null, lease: Lease): current is Lease {
  return (
    current !== null &&
    current.holder === lease.holder &&
    current.epoch === lease.epoch &&
    current.expires_at > 0
  );
}

/** The renewed lease, or null when `lease` was lost (taken over or released). */
export function planRenew(current: Lease | null, lease: Lease, ttlMs: number, now: number): Lease | null {
  return stillHeld(current, lease) ? { ...current, expires_at: now + ttlMs } : null;
}

/** The released lease (epoch kept, expires_at 0), or null when `lease` is no longer held: no-op. */
export function planRelease(current: Lease | null, lease: Lease): Lease | null {
  return stillHeld(current, lease) ? { ...current, expires_at: 0 } : null;
}

/**
 * Rejects what no lease store accepts: ids that could not be document names, a ttl that is not
 * a positive number of milliseconds. Throws a non-retryable GovernorError.
 */
export function checkLeaseArgs(args: {
  readonly accountId?: string;
  readonly workerId?: string;
  readonly ttlMs?: number;
}): void {
  if (args.accountId !== undefined && !AccountId.safeParse(args.accountId).success)
    throw invalidAccountId(args.accountId);
  if (args.workerId !== undefined && !WorkerId.safeParse(args.workerId).success)
    throw invalidArgument(`not a worker id: ${JSON.stringify(args.workerId)}`);
  if (args.ttlMs !== undefined && !(Number.isSafeInteger(args.ttlMs) && args.ttlMs > 0))
    throw invalidArgument(`a lease ttl must be a positive whole number of ms, not ${args.ttlMs}`);
}

/** Checks what a lease passed back to the store says about itself. */
export function checkLease(lease: Lease): void {
  checkLeaseArgs({ accountId: lease.account_id, workerId: lease.holder });
  if (!Number.isSafeInteger(lease.epoch) || lease.epoch < 1)
    throw invalidArgument(`not a lease epoch: ${lease.epoch}`);
}
