import type { TenantDirectory, TenantRecord } from '@governor/governor';
import { tenantRecord } from '@governor/governor/testing';
import { sortedBy } from './contract-helpers';

/** A fresh, empty tenant directory for one contract test, and how to dispose of it. */
export interface DirectoryUnderTest {
  readonly directory: TenantDirectory;
  cleanup(): Promise<void>;
  /**
   * Another client of the same store (what a restarted process would open). When given, every
   * write is also checked to be visible through it.
   */
  readonly reopen?: () => Promise<TenantDirectory>;
}

/** Records in europe-west1, so a store that drops or defaults the region is caught. */
const tenant = (accountId: string, overrides: Partial<TenantRecord> = {}): TenantRecord =>
  tenantRecord(accountId, { region: 'europe-west1', ...overrides });

const byAccount = (records: readonly TenantRecord[]) => sortedBy(records, (r) => r.account_id);

/**
 * The behaviour every `TenantDirectory` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each. The order of `list` is not part of the contract.
 */
export function describeTenantDirectoryContract(name: string, make: () => Promise<DirectoryUnderTest>): void {
  describe(`TenantDirectory contract: ${name}`, () => {
    let subject: DirectoryUnderTest;
    let directory: TenantDirectory;

    beforeEach(async () => {
      subject = await make();
      directory = subject.directory;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    /** The clients to check reads through: this one, and a reopened one when the store has it. */
    async function readers(): Promise<TenantDirectory[]> {
      return subject.reopen ? [directory, await subject.reopen()] : [directory];
    }

    it('an empty directory has no tenants', async () => {
      expect(await directory.get('acme')).toBeNull();
      expect(await directory.list()).toEqual([]);
    });

    it('put, then get and list return the record', async () => {
      const acme = tenant('acme');
      const globex = tenant('globex', { plan_type: 'enterprise', concurrency: 40, state: 'provisioning' });
      await directory.put(acme);
      await directory.put(globex);
      for (const reader of await readers()) {
        expect(await reader.get('acme')).toEqual(acme);
        expect(await reader.get('globex')).toEqual(globex);
        expect(await reader.get('initech')).toBeNull();
        expect(byAccount(await reader.list())).toEqual([acme, globex]);
      }
    });

    it('put replaces the whole record of that tenant', async () => {
      await directory.put(tenant('acme'));
      const changed = tenant('acme', {
        state: 'draining',
        concurrency: 9,
        policy_version: '1.1.0',
        monthly_actions_used: 17,
      });
      await directory.put(changed);
      for (const reader of await readers()) {
        expect(await reader.get('acme')).toEqual(changed);
        expect(await reader.list()).toEqual([changed]);
      }
    });

    it('delete removes the tenant; deleting a missing tenant resolves', async () => {
      await directory.put(tenant('acme'));
      await directory.put(tenant('globex'));
      await directory.delete('acme');
      await directory.delete('acme');
      await directory.delete('never-there');
      for (const reader of await readers()) {
        expect(await reader.get('acme')).toBeNull();
        expect(await reader.list()).toEqual([tenant('globex')]);
      }
      // A deleted tenant can be provisioned again.
      await directory.put(tenant('acme', { state: 'provisioning' }));
      expect(await directory.get('acme')).toEqual(tenant('acme', { state: 'provisioning' }));
    });
  });
}
