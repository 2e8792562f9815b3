import type { Policy } from '@governor/contracts';

/**
 * How many deliveries a transport may hand a governor before it settles some: its in-flight
 * ceiling plus the lag that triggers a scale-up, so lag can still be seen (runbook 3) while a
 * tenant's backlog stays in the transport, not in this process.
 */
export function flowControl(policy: Policy): { maxOutstanding: number } {
  return { maxOutstanding: policy.quotas.max_concurrent_actions + policy.scaling.lag_threshold };
}
