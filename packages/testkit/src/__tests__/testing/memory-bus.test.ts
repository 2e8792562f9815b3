import { MemoryBus } from '@governor/governor/testing';
import { describeSignalBusContract } from '../../index';

// A short redelivery delay, so the suite's real-time waits stay short; quiet for several of them.
describeSignalBusContract('MemoryBus', () =>
  Promise.resolve({ bus: new MemoryBus(undefined, 20), cleanup: () => Promise.resolve(), quietMs: 80 }),
);

describe('MemoryBus subscriptions', () => {
  it('records each subscription with its options, and which ones are still active', async () => {
    const bus = new MemoryBus();
    await bus.createTopic('acme');
    const stop = await bus.subscribe('acme', (d) => d.ack(), { maxOutstanding: 60 });
    await bus.subscribe('acme', (d) => d.ack(), { maxOutstanding: 210 });
    await stop();
    expect(bus.subscriptions).toEqual([
      { accountId: 'acme', options: { maxOutstanding: 60 }, active: false },
      { accountId: 'acme', options: { maxOutstanding: 210 }, active: true },
    ]);
    expect(bus.activeSubscriptions('acme').map((s) => s.options)).toEqual([{ maxOutstanding: 210 }]);
    expect(bus.activeSubscriptions('globex')).toEqual([]);
  });

  it('fails only the next subscribe with the error it was given, recording nothing for it', async () => {
    const bus = new MemoryBus();
    await bus.createTopic('acme');
    const outage = new Error('pubsub unavailable');
    bus.failNextSubscribe(outage);
    await expect(bus.subscribe('acme', (d) => d.ack())).rejects.toBe(outage);
    expect(bus.subscriptions).toEqual([]);
    await expect(bus.subscribe('acme', (d) => d.ack())).resolves.toBeInstanceOf(Function);
    expect(bus.activeSubscriptions('acme')).toHaveLength(1);
  });
});
