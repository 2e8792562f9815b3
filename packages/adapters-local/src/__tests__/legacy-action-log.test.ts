import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionLogEntry } from '@governor/governor';
import { FileLedger } from '../file-ledger';
import { migrateLegacyActionLog } from '../legacy-action-log';
import { openLocalStores } from '../local-stores';

const entry = (action_id: string, state: ActionLogEntry['state']): ActionLogEntry => ({
  action_id,
  kind: 'noop',
  signal_id: action_id.replace(/-a0$/, ''),
  state,
  deadline_at: 1_795_000_000_500,
  recoverable: true,
  started_at: 1_795_000_000_000,
});

describe('the action log of earlier versions (beside the tenant records)', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-legacy-log-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function legacy(account: string, file: string, content: unknown): Promise<void> {
    await mkdir(join(dir, 'directory', 'actions', account), { recursive: true });
    await writeFile(join(dir, 'directory', 'actions', account, file), JSON.stringify(content));
  }

  it('moves into each chain on the first open: running entries are reconciled after the upgrade', async () => {
    await legacy('acme', 'sig-1-a0.json', entry('sig-1-a0', 'running'));
    await legacy('acme', 'sig-2-a0.json', entry('sig-2-a0', 'complete'));
    await legacy('acme', '.sig-3-a0.json.tmp', { half: 'written' });
    await legacy('globex', 'sig%2F9-a0.json', entry('sig/9-a0', 'running'));
    const stores = await openLocalStores(dir);
    expect(await stores.ledger.runningActions('tenants/acme')).toEqual([entry('sig-1-a0', 'running')]);
    expect(await stores.ledger.runningActions('tenants/globex')).toEqual([entry('sig/9-a0', 'running')]);
    // A finished action stays finished: its signal, redelivered, is a duplicate.
    expect(await stores.ledger.startActions('tenants/acme', [entry('sig-2-a0', 'running')])).toEqual([false]);
    expect(await readdir(join(dir, 'directory'))).toEqual(['actions.migrated']);
    stores.close();
    // Once only: a second open finds nothing to move.
    expect(
      await migrateLegacyActionLog(join(dir, 'directory'), await FileLedger.open(join(dir, 'ledger'))),
    ).toBe(0);
  });

  it('stops at a file that is not an entry, naming it, and renames nothing', async () => {
    await legacy('acme', 'sig-1-a0.json', { action_id: 'sig-1-a0' });
    const ledger = await FileLedger.open(join(dir, 'ledger'));
    await expect(migrateLegacyActionLog(join(dir, 'directory'), ledger)).rejects.toThrow(
      /sig-1-a0\.json: not an action log entry/,
    );
    expect(await readdir(join(dir, 'directory'))).toEqual(['actions']);
  });
});
