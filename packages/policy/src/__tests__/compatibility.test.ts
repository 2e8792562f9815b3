import { checkCompatibility } from '../index';
import { policy, withVersion } from './helpers';

const current = policy(); // 1.2.3, kinds noop + webhook

describe('checkCompatibility', () => {
  it.each(['1.2.4', '1.3.0', '1.10.0', '1.2.10'])('accepts a patch or minor bump to %s', (version) => {
    expect(checkCompatibility(current, withVersion(current, version))).toEqual({
      compatible: true,
      reasons: [],
    });
  });

  it('accepts added action kinds and changed quotas', () => {
    const next = withVersion(current, '1.3.0');
    next.actions.export = { handler: 'noop', timeout_ms: 500, recoverable: true };
    next.quotas = { monthly_actions: 1, concurrent_actions: 1, max_concurrent_actions: 1 };
    expect(checkCompatibility(current, next)).toEqual({ compatible: true, reasons: [] });
  });

  it('refuses the same version', () => {
    expect(checkCompatibility(current, withVersion(current, '1.2.3'))).toEqual({
      compatible: false,
      reasons: ['version 1.2.3 is already current; a new policy needs a higher version'],
    });
  });

  it.each(['1.2.2', '1.1.9', '0.9.9'])('refuses a lower version %s', (version) => {
    expect(checkCompatibility(current, withVersion(current, version))).toEqual({
      compatible: false,
      reasons: [`version ${version} is lower than current 1.2.3; versions must increase`],
    });
  });

  it('refuses a major bump', () => {
    expect(checkCompatibility(current, withVersion(current, '2.0.0'))).toEqual({
      compatible: false,
      reasons: ['major version bump 1 -> 2'],
    });
  });

  it('refuses a removed action kind, naming it', () => {
    const next = withVersion(current, '1.3.0');
    delete next.actions.webhook;
    expect(checkCompatibility(current, next)).toEqual({
      compatible: false,
      reasons: ['action kind "webhook" removed'],
    });
  });

  it('refuses a changed plan_type', () => {
    const next = { ...withVersion(current, '1.2.4'), plan_type: 'enterprise' };
    expect(checkCompatibility(current, next)).toEqual({
      compatible: false,
      reasons: ['plan_type changed "professional" -> "enterprise"'],
    });
  });

  it('gives every reason at once, in a stable order', () => {
    const next = { ...withVersion(current, '3.0.0'), plan_type: 'starter', actions: {} };
    expect(checkCompatibility(current, next).reasons).toEqual([
      'major version bump 1 -> 3',
      'plan_type changed "professional" -> "starter"',
      'action kind "noop" removed',
      'action kind "webhook" removed',
    ]);
  });
});
