import type { Signal } from '@governor/governor';

/** A plan whose `hang` action calls an http endpoint the test controls (and may never answer). */
export function slowPolicy(port: number) {
  return {
    policy_version: '1.0.0',
    plan_type: 'slowplan',
    skus: ['slow-sku'],
    quotas: { monthly_actions: 1000, concurrent_actions: 4, max_concurrent_actions: 8 },
    pricing: { usd_per_slot_hour: 0.01 },
    actions: {
      noop: { handler: 'noop', timeout_ms: 500, recoverable: true },
      hang: {
        handler: 'http',
        endpoint: `http://127.0.0.1:${port}/hang`,
        timeout_ms: 60_000,
        recoverable: true,
        rollback: { endpoint: `http://127.0.0.1:${port}/rollback` },
      },
    },
  };
}

/** The secret the workers' http action handler signs with in these tests. */
export const ACTION_SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;

/** entitlement.created on governor.control, as the ingress forwards it. */
export function entitlement(accountId: string, plan: string, sku: string) {
  return {
    kind: 'entitlement' as const,
    event: {
      type: 'entitlement.created' as const,
      entitlement_id: `ent-${accountId}`,
      account_id: accountId,
      sku_id: sku,
      plan_type: plan,
      region: 'us-central1',
      occurred_at: new Date().toISOString(),
    },
  };
}

export function signal(accountId: string, id: string, kind = 'noop'): Signal {
  return {
    signal_id: id,
    account_id: accountId,
    type: 'action',
    action_kind: kind,
    params: {},
    published_at: Date.now(),
  };
}
