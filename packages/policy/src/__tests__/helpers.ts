import type { Policy, PolicyInput } from '@governor/contracts';
import { validatePolicy } from '../index';

/** A small valid policy as it would be written in JSON, defaults omitted. */
export function policyInput(): PolicyInput {
  return {
    policy_version: '1.2.3',
    plan_type: 'professional',
    skus: ['governor-professional'],
    quotas: { monthly_actions: 10_000, concurrent_actions: 20, max_concurrent_actions: 50 },
    pricing: { usd_per_slot_hour: 0.0167 },
    actions: {
      noop: { handler: 'noop', recoverable: true },
      webhook: {
        handler: 'http',
        endpoint: 'http://127.0.0.1:9/actions/webhook',
        recoverable: true,
        rollback: { endpoint: 'http://127.0.0.1:9/actions/webhook/rollback' },
      },
    },
  };
}

/** Parses a policy that the test expects to be valid, failing loudly with the issues if not. */
export function policy(edit: (p: PolicyInput) => void = () => {}): Policy {
  const input = policyInput();
  edit(input);
  const result = validatePolicy(input);
  if (!result.ok) throw new Error(`test policy is invalid: ${JSON.stringify(result.issues)}`);
  return result.value;
}

/** A deep copy with a different version: the usual shape of an upgrade. */
export function withVersion(p: Policy, version: string): Policy {
  return { ...structuredClone(p), policy_version: version };
}
