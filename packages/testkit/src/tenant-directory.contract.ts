import type { ActionLogEntry, TenantDirectory, TenantRecord } from '@governor/governor';
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

function action(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
  return {
    action_id: actionId,
    kind: 'noop',
    signal_id: `sig-${actionId}`,
    state: 'running',
    deadline_at: 1_795_000_000_000,
    recoverable: true,
    ...overrides,
  };
}

const byAccount = (records: readonly TenantRecord[]) => sortedBy(records, (r) => r.account_id);
const byAction = (entries: readonly ActionLogEntry[]) => sortedBy(entries, (e) => e.action_id);

/**
 * The behaviour every `TenantDirectory` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each. Order of `list` and `runningActions` is not part of the contract.
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

    it('an empty directory has no tenants and no running actions', async () => {
      expect(await directory.get('acme')).toBeNull();
      expect(await directory.list()).toEqual([]);
      expect(await directory.runningActions('acme')).toEqual([]);
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

    it('runningActions returns exactly the entries whose latest write is running', async () => {
      await directory.put(tenant('acme'));
      const states = ['running', 'complete', 'rolled_back', 'escalated'] as const;
      for (const state of states) await directory.putAction('acme', action(`a-${state}`, { state }));
      for (const reader of await readers()) {
        expect(await reader.runningActions('acme')).toEqual([action('a-running')]);
      }
    });

    it('actionsStartedSince counts the entries started at or after a time, whatever their state, per tenant', async () => {
      await directory.put(tenant('acme'));
      await directory.put(tenant('globex'));
      const month = Date.parse('2026-12-01T00:00:00.000Z');
      await directory.startAction('acme', action('before', { started_at: month - 1 }));
      await directory.startAction('acme', action('at', { started_at: month }));
      await directory.startAction('acme', action('after', { started_at: month + 5_000, state: 'complete' }));
      await directory.putAction('acme', action('legacy'));
      await directory.startAction('globex', action('other', { started_at: month + 1 }));
      // A later write of an entry (its outcome) keeps its start.
      await directory.putAction('acme', action('at', { started_at: month, state: 'rolled_back' }));
      for (const reader of await readers()) {
        expect(await reader.actionsStartedSince('acme', month)).toBe(2);
        expect(await reader.actionsStartedSince('acme', month - 1)).toBe(3);
        expect(await reader.actionsStartedSince('globex', month)).toBe(1);
        expect(await reader.actionsStartedSince('initech', month)).toBe(0);
      }
    });

    it('putAction replaces an entry: the latest write wins, in either direction', async () => {
      await directory.put(tenant('acme'));
      await directory.putAction('acme', action('a1'));
      await directory.putAction('acme', action('a2'));
      await directory.putAction('acme', action('a3', { state: 'complete' }));
      // a1 finishes; a3 is written running again with a later deadline (a retry that re-armed it).
      await directory.putAction('acme', action('a1', { state: 'rolled_back' }));
      const rearmed = action('a3', { deadline_at: 1_795_000_009_000, recoverable: false });
      await directory.putAction('acme', rearmed);
      for (const reader of await readers()) {
        expect(byAction(await reader.runningActions('acme'))).toEqual([action('a2'), rearmed]);
      }
    });

    it('keeps every field of an action entry, and action ids of any characters', async () => {
      const odd = [
        action('sig-1-a0', { kind: 'webhook', deadline_at: 1_795_000_000_123, recoverable: false }),
        action('3f2a9c4e-7b1d-4e8a-9f00-1c2d3e4f5a6b-a12'),
        // A signal id is any non-empty string, and an action id is built from it.
        action('with/slash and space:colon-a0'),
        action('../../etc/passwd-a1'),
        action('Ünïcødé-✓-a2'),
      ];
      for (const entry of odd) await directory.putAction('acme', entry);
      for (const reader of await readers()) {
        expect(byAction(await reader.runningActions('acme'))).toEqual(byAction(odd));
      }
    });

    it('startAction writes only a new action id, and says whether it did', async () => {
      await directory.put(tenant('acme'));
      expect(await directory.startAction('acme', action('a1'))).toBe(true);
      expect(await directory.startAction('acme', action('a1', { kind: 'webhook' }))).toBe(false);
      await directory.putAction('acme', action('a1', { state: 'complete' }));
      // A finished action is not started again either: that is what makes a redelivery run once.
      expect(await directory.startAction('acme', action('a1'))).toBe(false);
      expect(await directory.startAction('globex', action('a1'))).toBe(true);
      for (const reader of await readers()) {
        expect(await reader.runningActions('acme')).toEqual([]);
        expect(await reader.runningActions('globex')).toEqual([action('a1')]);
        expect(await reader.startAction('acme', action('a1'))).toBe(false);
      }
    });

    it('of racing startActions of one action id exactly one writes', async () => {
      await directory.put(tenant('acme'));
      const clients = await readers();
      const started = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          (clients[i % clients.length] ?? directory).startAction('acme', action('race', { deadline_at: i })),
        ),
      );
      expect(started.filter(Boolean)).toHaveLength(1);
      const winner = started.indexOf(true);
      expect(await directory.runningActions('acme')).toEqual([action('race', { deadline_at: winner })]);
    });

    it('delete removes the action log too', async () => {
      await directory.put(tenant('acme'));
      await directory.putAction('acme', action('a1'));
      await directory.putAction('acme', action('a2', { state: 'complete' }));
      await directory.delete('acme');
      for (const reader of await readers()) expect(await reader.runningActions('acme')).toEqual([]);
      // A tenant provisioned again under the same id starts with an empty log.
      await directory.put(tenant('acme'));
      await directory.putAction('acme', action('b1'));
      expect(await directory.runningActions('acme')).toEqual([action('b1')]);
    });

    it('tenants are independent: records and action logs', async () => {
      await directory.put(tenant('acme'));
      await directory.put(tenant('globex'));
      await directory.putAction('acme', action('a1'));
      await directory.putAction('globex', action('a1', { kind: 'webhook' }));
      await directory.putAction('globex', action('g2'));
      await directory.putAction('acme', action('a1', { state: 'complete' }));
      for (const reader of await readers()) {
        expect(await reader.runningActions('acme')).toEqual([]);
        expect(byAction(await reader.runningActions('globex'))).toEqual([
          action('a1', { kind: 'webhook' }),
          action('g2'),
        ]);
      }
      await directory.delete('globex');
      expect(await directory.get('acme')).toEqual(tenant('acme'));
      await directory.putAction('acme', action('a3'));
      expect(await directory.runningActions('acme')).toEqual([action('a3')]);
      expect(await directory.runningActions('globex')).toEqual([]);
    });
  });
}
