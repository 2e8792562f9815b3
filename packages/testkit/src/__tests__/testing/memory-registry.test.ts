import { MemoryRegistry } from '@governor/governor/testing';
import { describePolicyRegistryContract } from '../../index';

describePolicyRegistryContract('MemoryRegistry', () =>
  Promise.resolve({ registry: new MemoryRegistry(), cleanup: () => Promise.resolve() }),
);

describe('MemoryRegistry faults', () => {
  it('fails only the next latest with the error it was given', async () => {
    const registry = new MemoryRegistry();
    await registry.put('starter', '1.0.0', { n: 1 });
    const outage = new Error('storage unavailable');
    registry.failNextLatest(outage);
    await expect(registry.latest('starter')).rejects.toBe(outage);
    await expect(registry.latest('starter')).resolves.toEqual({ n: 1 });
  });
});
