import type { Policy } from '@governor/contracts';
import { PolicyError, PolicyErrorCode } from './errors';

function checkConcurrency(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new PolicyError(
      PolicyErrorCode.INVALID_CONCURRENCY,
      `${name} concurrency must be a non-negative integer, got ${value}`,
    );
  }
}

/**
 * The hourly cost change of moving a governor from `previous` to `next` concurrency:
 * (next - previous) x `pricing.usd_per_slot_hour`, rounded to cents (half away from zero).
 * Negative for a scale-down or revert.
 * @throws {PolicyError} `INVALID_CONCURRENCY` if either is not a non-negative integer.
 */
export function costDelta(policy: Policy, previous: number, next: number): number {
  checkConcurrency('previous', previous);
  checkConcurrency('next', next);
  const raw = (next - previous) * policy.pricing.usd_per_slot_hour;
  // toPrecision(12) drops binary noise first (3 x 0.35 is 1.0499999999999998, not 1.05), so
  // halves round the way a person expects.
  const cents = Math.round(Number((Math.abs(raw) * 100).toPrecision(12)));
  return cents === 0 ? 0 : (Math.sign(raw) * cents) / 100;
}
