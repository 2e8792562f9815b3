import { diffPolicies, formatDiff } from '../index';
import { policy, withVersion } from './helpers';

const a = policy();

describe('diffPolicies', () => {
  it('is empty for equal policies', () => {
    expect(diffPolicies(a, structuredClone(a))).toEqual([]);
  });

  it('lists each change in schema order', () => {
    const b = withVersion(a, '1.3.0');
    b.skus = ['governor-professional', 'marketplace-sku-456'];
    b.quotas.max_concurrent_actions = 100;
    b.pricing.usd_per_slot_hour = 0.02;
    delete b.actions.webhook;
    b.actions.export = {
      handler: 'http',
      endpoint: 'http://127.0.0.1:9/actions/export',
      timeout_ms: 500,
      recoverable: false,
    };
    b.actions.noop = { handler: 'noop', timeout_ms: 1_000, recoverable: false };
    b.scaling.step = 30;
    expect(diffPolicies(a, b)).toEqual([
      'policy_version: "1.2.3" -> "1.3.0"',
      '+ sku "marketplace-sku-456"',
      'quotas.max_concurrent_actions: 50 -> 100',
      'pricing.usd_per_slot_hour: 0.0167 -> 0.02',
      '+ action kind "export"',
      'actions.noop.timeout_ms: 500 -> 1000',
      'actions.noop.recoverable: true -> false',
      '- action kind "webhook"',
      'scaling.step: 10 -> 30',
    ]);
  });

  it('lists a removed sku and a changed plan', () => {
    const b = { ...a, plan_type: 'enterprise', skus: ['governor-enterprise'] };
    expect(diffPolicies(a, b)).toEqual([
      'plan_type: "professional" -> "enterprise"',
      '- sku "governor-professional"',
      '+ sku "governor-enterprise"',
    ]);
  });

  it('shows a handler change and an added or removed rollback field by field', () => {
    const b = structuredClone(a);
    b.actions.noop = {
      handler: 'http',
      endpoint: 'http://127.0.0.1:9/n',
      timeout_ms: 500,
      recoverable: true,
      rollback: { endpoint: 'http://127.0.0.1:9/n/undo' },
    };
    const webhook = b.actions.webhook;
    if (webhook?.handler === 'http') delete webhook.rollback;
    expect(diffPolicies(a, b)).toEqual([
      'actions.noop.handler: "noop" -> "http"',
      'actions.noop.endpoint: (none) -> "http://127.0.0.1:9/n"',
      'actions.noop.rollback.endpoint: (none) -> "http://127.0.0.1:9/n/undo"',
      'actions.webhook.rollback.endpoint: "http://127.0.0.1:9/actions/webhook/rollback" -> (none)',
    ]);
  });
});

describe('formatDiff', () => {
  it('prints a header and one indented line per change', () => {
    const b = withVersion(a, '1.3.0');
    b.quotas.max_concurrent_actions = 100;
    expect(formatDiff(a, b)).toBe(
      [
        'policy professional 1.2.3 -> 1.3.0',
        '  policy_version: "1.2.3" -> "1.3.0"',
        '  quotas.max_concurrent_actions: 50 -> 100',
        '',
      ].join('\n'),
    );
  });

  it('names both plans when the plan changes, and says when nothing changed', () => {
    expect(formatDiff(a, { ...withVersion(a, '2.0.0'), plan_type: 'starter' }).split('\n')[0]).toBe(
      'policy professional 1.2.3 -> starter 2.0.0',
    );
    expect(formatDiff(a, a)).toBe('policy professional 1.2.3 -> 1.2.3\n  (no changes)\n');
  });
});
