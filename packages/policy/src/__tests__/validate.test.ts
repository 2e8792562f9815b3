/* eslint-disable @typescript-eslint/no-explicit-any -- these tests build deliberately invalid documents */
import type { ReceiptFieldsOf } from '@governor/contracts';
import { validatePolicy, validatePolicyText, type PolicyIssue, type PolicyValidation } from '../index';
import { policyInput } from './helpers';

// The issues go straight into a policy_validation_failed receipt; this fails to compile if the
// shapes drift apart.
const _sameShape: ReceiptFieldsOf<'policy_validation_failed'>['issues'][number] = {} as PolicyIssue;
void _sameShape;

function issuesOf(result: PolicyValidation): PolicyIssue[] {
  if (result.ok) throw new Error('expected the policy to be rejected');
  return result.issues;
}

function rejected(edit: (p: Record<string, any>) => void): PolicyIssue[] {
  const input = policyInput() as Record<string, any>;
  edit(input);
  return issuesOf(validatePolicy(input));
}

describe('validatePolicy', () => {
  it('accepts a valid policy and fills in defaults', () => {
    const result = validatePolicy(policyInput());
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.actions.noop).toEqual({ handler: 'noop', timeout_ms: 500, recoverable: true });
    expect(result.value.actions.webhook?.timeout_ms).toBe(500);
    expect(result.value.health).toEqual({ interval_ms: 10_000, failure_threshold: 3 });
    expect(result.value.scaling).toEqual({ lag_threshold: 10, observation_window_ms: 60_000, step: 10 });
  });

  it('fills in defaults inside a partly written block', () => {
    const result = validatePolicy({ ...policyInput(), health: { interval_ms: 2_000 } });
    expect(result.ok && result.value.health).toEqual({ interval_ms: 2_000, failure_threshold: 3 });
  });

  it('rejects a bad semver', () => {
    for (const version of ['1.2', '1.2.3-beta', 'v1.2.3', '01.2.3', '1.2.3.4', '']) {
      expect(rejected((p) => (p.policy_version = version))).toEqual([
        { path: 'policy_version', message: 'expected a semantic version MAJOR.MINOR.PATCH' },
      ]);
    }
  });

  it('rejects unknown fields, one issue per field, at any depth', () => {
    expect(
      rejected((p) => {
        p.extra = 1;
        p.quotas.burst = 5;
        p.quotas.typo = 5;
        p.actions.noop.retries = 2;
        p.health = { intervall_ms: 1 };
      }),
    ).toEqual([
      { path: 'quotas.burst', message: 'unknown field' },
      { path: 'quotas.typo', message: 'unknown field' },
      { path: 'actions.noop.retries', message: 'unknown field' },
      { path: 'health.intervall_ms', message: 'unknown field' },
      { path: 'extra', message: 'unknown field' },
    ]);
  });

  it('rejects an http action without an endpoint, or with a non-http endpoint', () => {
    expect(rejected((p) => delete p.actions.webhook.endpoint)).toEqual([
      { path: 'actions.webhook.endpoint', message: 'endpoint is required for the http handler' },
    ]);
    expect(rejected((p) => (p.actions.webhook.endpoint = 'file:///etc/passwd'))).toEqual([
      { path: 'actions.webhook.endpoint', message: 'endpoint must be an http(s) URL' },
    ]);
    expect(rejected((p) => (p.actions.webhook.rollback = { endpoint: 'not a url' }))).toEqual([
      { path: 'actions.webhook.rollback.endpoint', message: 'endpoint must be an http(s) URL' },
    ]);
  });

  it('rejects an endpoint or a rollback on a noop action', () => {
    expect(
      rejected((p) => {
        p.actions.noop.endpoint = 'http://127.0.0.1:9/x';
        p.actions.noop.rollback = { endpoint: 'http://127.0.0.1:9/y' };
      }),
    ).toEqual([
      { path: 'actions.noop.endpoint', message: 'endpoint is only allowed with the http handler' },
      { path: 'actions.noop.rollback', message: 'rollback is only allowed with the http handler' },
    ]);
  });

  it('rejects an unknown or missing handler', () => {
    const expected = [{ path: 'actions.noop.handler', message: 'handler must be "noop" or "http"' }];
    expect(rejected((p) => (p.actions.noop.handler = 'grpc'))).toEqual(expected);
    expect(rejected((p) => delete p.actions.noop.handler)).toEqual(expected);
  });

  it('rejects a timeout outside 1..600000 ms or not an integer', () => {
    for (const timeout of [0, 600_001, 1.5]) {
      const issues = rejected((p) => (p.actions.noop.timeout_ms = timeout));
      expect(issues.map((i) => i.path)).toEqual(['actions.noop.timeout_ms']);
    }
  });

  it('rejects concurrent_actions above max_concurrent_actions', () => {
    expect(rejected((p) => (p.quotas.concurrent_actions = 60))).toEqual([
      {
        path: 'quotas.concurrent_actions',
        message: 'concurrent_actions (60) must not exceed max_concurrent_actions (50)',
      },
    ]);
  });

  it('accepts concurrent_actions equal to max_concurrent_actions', () => {
    const input = policyInput();
    input.quotas.concurrent_actions = input.quotas.max_concurrent_actions;
    expect(validatePolicy(input).ok).toBe(true);
  });

  it('rejects an empty actions record', () => {
    expect(rejected((p) => (p.actions = {}))).toEqual([
      { path: 'actions', message: 'at least one action kind is required' },
    ]);
  });

  it('rejects an action kind that is not a lower-case id', () => {
    const issues = rejected((p) => (p.actions['Send Email'] = { handler: 'noop', recoverable: true }));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('actions["Send Email"]');
    expect(issues[0]?.message).toMatch(/^invalid key "Send Email": expected a lower-case id/);
  });

  it('rejects a bad plan_type, empty or repeated skus, negative price, zero quotas', () => {
    expect(rejected((p) => (p.plan_type = 'Pro')).map((i) => i.path)).toEqual(['plan_type']);
    expect(rejected((p) => (p.skus = []))).toEqual([
      { path: 'skus', message: 'at least one sku is required' },
    ]);
    expect(rejected((p) => (p.skus = ['a', 'a']))).toEqual([
      { path: 'skus', message: 'skus must not repeat' },
    ]);
    expect(rejected((p) => (p.skus = ['a', ''])).map((i) => i.path)).toEqual(['skus[1]']);
    expect(rejected((p) => (p.pricing.usd_per_slot_hour = -1)).map((i) => i.path)).toEqual([
      'pricing.usd_per_slot_hour',
    ]);
    expect(rejected((p) => (p.quotas.monthly_actions = 0)).map((i) => i.path)).toEqual([
      'quotas.monthly_actions',
    ]);
  });

  it('reports missing required blocks and a non-object document', () => {
    expect(rejected((p) => delete p.quotas).map((i) => i.path)).toEqual(['quotas']);
    for (const doc of [null, 42, 'policy', []]) {
      const issues = issuesOf(validatePolicy(doc));
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe('');
    }
  });

  it('keeps the issue list bounded, saying how many were left out', () => {
    const junk = Object.fromEntries(Array.from({ length: 120 }, (_, i) => [`junk${i}`, i]));
    const issues = issuesOf(validatePolicy({ ...policyInput(), ...junk }));
    expect(issues).toHaveLength(50);
    expect(issues[49]).toEqual({ path: '', message: '71 more issues not listed' });
  });

  it('clips very long paths and messages', () => {
    const issues = issuesOf(validatePolicy({ ...policyInput(), ['x'.repeat(5_000)]: 1 }));
    expect(issues[0]?.path.length).toBeLessThanOrEqual(500);
    expect(issues[0]?.path.endsWith('…')).toBe(true);
  });
});

describe('validatePolicyText', () => {
  it('validates the parsed text', () => {
    expect(validatePolicyText(JSON.stringify(policyInput())).ok).toBe(true);
  });

  it('turns unparseable JSON into an issue instead of throwing', () => {
    const issues = issuesOf(validatePolicyText('{"policy_version": '));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe('');
    expect(issues[0]?.message).toMatch(/^not valid JSON: /);
  });
});
