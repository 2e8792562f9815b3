import { validateAgainstState, type GovernorUsage } from '../index';
import { policy } from './helpers';

// max_concurrent_actions 50, monthly_actions 10000, kinds noop + webhook
const next = policy((p) => (p.policy_version = '1.3.0'));
const fits: GovernorUsage = {
  in_flight_kinds: ['noop', 'webhook', 'noop'],
  concurrency: 20,
  monthly_actions_used: 42,
};

describe('validateAgainstState', () => {
  it('accepts a governor whose state fits the new policy', () => {
    expect(validateAgainstState(next, fits)).toEqual({ ok: true, reasons: [] });
  });

  it('accepts state exactly at the new limits', () => {
    expect(validateAgainstState(next, { ...fits, concurrency: 50, monthly_actions_used: 10_000 })).toEqual({
      ok: true,
      reasons: [],
    });
  });

  it('refuses when an in-flight kind is no longer permitted, once per kind', () => {
    expect(validateAgainstState(next, { ...fits, in_flight_kinds: ['report', 'noop', 'report'] })).toEqual({
      ok: false,
      reasons: ['in-flight action kind "report" is not permitted by policy 1.3.0'],
    });
  });

  it('refuses when the current concurrency is above the new ceiling', () => {
    expect(validateAgainstState(next, { ...fits, concurrency: 51 })).toEqual({
      ok: false,
      reasons: ['current concurrency 51 exceeds max_concurrent_actions 50'],
    });
  });

  it('refuses when this month’s usage is already above the new quota', () => {
    expect(validateAgainstState(next, { ...fits, monthly_actions_used: 10_001 })).toEqual({
      ok: false,
      reasons: ['monthly actions used 10001 exceed monthly_actions 10000'],
    });
  });

  it('lists every reason', () => {
    const result = validateAgainstState(next, {
      in_flight_kinds: ['b', 'a'],
      concurrency: 100,
      monthly_actions_used: 20_000,
    });
    expect(result.ok).toBe(false);
    expect(result.reasons).toEqual([
      'in-flight action kind "a" is not permitted by policy 1.3.0',
      'in-flight action kind "b" is not permitted by policy 1.3.0',
      'current concurrency 100 exceeds max_concurrent_actions 50',
      'monthly actions used 20000 exceed monthly_actions 10000',
    ]);
  });
});
