import { createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { governorMachine, phaseOf, type GovernorEvent } from '../machines/governor.machine';

const events: GovernorEvent[] = [
  { type: 'PROVISIONED' },
  { type: 'PROVISION_FAILED' },
  { type: 'DEGRADE' },
  { type: 'RECOVER' },
  { type: 'CANCEL' },
  { type: 'DRAINED' },
];

describe('governor machine', () => {
  it('reaches every lifecycle phase, and each path replays on a real actor to the same phase', () => {
    const paths = getShortestPaths(governorMachine, { events });
    const reached = new Set(paths.map((p) => phaseOf(p.state.value)));
    expect(reached).toEqual(
      new Set(['provisioning', 'normal', 'degraded', 'draining', 'decommissioned', 'failed']),
    );
    for (const path of paths) {
      const actor = createActor(governorMachine).start();
      for (const step of path.steps) actor.send(step.event);
      expect(phaseOf(actor.getSnapshot().value)).toBe(phaseOf(path.state.value));
    }
  });

  it('ignores every event once decommissioned or failed', () => {
    for (const path of getShortestPaths(governorMachine, { events })) {
      const phase = phaseOf(path.state.value);
      if (phase !== 'decommissioned' && phase !== 'failed') continue;
      const actor = createActor(governorMachine).start();
      for (const step of path.steps) actor.send(step.event);
      for (const event of events) actor.send(event);
      expect(phaseOf(actor.getSnapshot().value)).toBe(phase);
      expect(actor.getSnapshot().status).toBe('done');
    }
  });

  it('can be cancelled while degraded, and cannot be cancelled while provisioning', () => {
    const actor = createActor(governorMachine).start();
    actor.send({ type: 'CANCEL' });
    expect(phaseOf(actor.getSnapshot().value)).toBe('provisioning');
    actor.send({ type: 'PROVISIONED' });
    actor.send({ type: 'DEGRADE' });
    actor.send({ type: 'CANCEL' });
    expect(phaseOf(actor.getSnapshot().value)).toBe('draining');
  });
});
