import { setup } from 'xstate';

export type GovernorEvent =
  | { type: 'PROVISIONED' }
  | { type: 'PROVISION_FAILED' }
  | { type: 'DEGRADE' }
  | { type: 'RECOVER' }
  | { type: 'CANCEL' }
  | { type: 'DRAINED' };

/**
 * A tenant governor's lifecycle: provisioning → active (normal | degraded) → draining →
 * decommissioned, or failed when provisioning could not finish. It decides one thing the
 * runtime asks on every signal: may this governor start actions now?
 */
export const governorMachine = setup({
  types: { events: {} as GovernorEvent },
}).createMachine({
  id: 'governor',
  initial: 'provisioning',
  states: {
    provisioning: {
      on: { PROVISIONED: 'active', PROVISION_FAILED: 'failed' },
    },
    active: {
      initial: 'normal',
      states: {
        normal: { on: { DEGRADE: 'degraded' } },
        degraded: { on: { RECOVER: 'normal' } },
      },
      on: { CANCEL: 'draining' },
    },
    draining: { on: { DRAINED: 'decommissioned' } },
    decommissioned: { type: 'final' },
    failed: { type: 'final' },
  },
});

export type GovernorPhase = 'provisioning' | 'normal' | 'degraded' | 'draining' | 'decommissioned' | 'failed';

/** Flattens a snapshot value to the one phase the runtime reasons about. */
export function phaseOf(value: unknown): GovernorPhase {
  if (typeof value === 'string') return value as GovernorPhase;
  const active = (value as { active?: unknown }).active;
  return active === 'degraded' ? 'degraded' : 'normal';
}
