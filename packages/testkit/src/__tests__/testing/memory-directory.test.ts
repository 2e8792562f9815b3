import type { TenantRecord } from '@governor/governor';
import { MemoryDirectory } from '@governor/governor/testing';
import { describeTenantDirectoryContract } from '../../index';

describeTenantDirectoryContract('MemoryDirectory', () =>
  Promise.resolve({ directory: new MemoryDirectory(), cleanup: () => Promise.resolve() }),
);

describe('MemoryDirectory faults', () => {
  const record = (account_id: string) => ({ account_id }) as unknown as TenantRecord;

  it('fails the puts its rule picks, keeps what it had, and succeeds again once cleared', async () => {
    const directory = new MemoryDirectory();
    const refused = new Error('document too large');
    directory.failPutsWhen((r) => (r.account_id === 'acme' ? refused : null));
    await expect(directory.put(record('acme'))).rejects.toBe(refused);
    await directory.put(record('globex'));
    expect((await directory.list()).map((r) => r.account_id)).toEqual(['globex']);
    directory.failPutsWhen(null);
    await directory.put(record('acme'));
    expect(await directory.get('acme')).toEqual(record('acme'));
  });
});
