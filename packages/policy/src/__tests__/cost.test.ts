import { costDelta, PolicyError, PolicyErrorCode } from '../index';
import { policy } from './helpers';

const priced = (usd: number) => policy((p) => (p.pricing.usd_per_slot_hour = usd));

describe('costDelta', () => {
  it('is (new - previous) x usd_per_slot_hour, rounded to cents', () => {
    // The runbook's example receipt: a professional governor scaled 20 -> 50 costs 0.50 USD.
    expect(costDelta(priced(0.0167), 20, 50)).toBe(0.5);
    expect(costDelta(priced(0.02), 5, 10)).toBe(0.1);
    expect(costDelta(priced(0.0125), 50, 200)).toBe(1.88);
  });

  it('is negative for a scale-down and zero for no change or a free plan', () => {
    expect(costDelta(priced(0.0167), 50, 20)).toBe(-0.5);
    expect(costDelta(priced(0.0167), 20, 20)).toBe(0);
    expect(Object.is(costDelta(priced(0.001), 20, 21), 0)).toBe(true);
    expect(costDelta(priced(0), 0, 1_000)).toBe(0);
  });

  it('rounds halves away from zero despite binary floating point', () => {
    expect(costDelta(priced(0.35), 0, 3)).toBe(1.05); // 3 x 0.35 is 1.0499999999999998 in floats
    expect(costDelta(priced(0.005), 0, 1)).toBe(0.01);
    expect(costDelta(priced(0.005), 1, 0)).toBe(-0.01);
  });

  it.each([
    [-1, 5],
    [5, 1.5],
    [Number.NaN, 5],
    [5, Number.POSITIVE_INFINITY],
  ])('throws INVALID_CONCURRENCY for %p -> %p', (previous, next) => {
    expect(() => costDelta(priced(0.01), previous, next)).toThrow(
      expect.objectContaining({ name: 'PolicyError', code: PolicyErrorCode.INVALID_CONCURRENCY }),
    );
    expect(() => costDelta(priced(0.01), previous, next)).toThrow(PolicyError);
  });
});
