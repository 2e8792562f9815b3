import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ActionLogEntry, TenantRecord } from '@governor/governor';
import { describeTenantDirectoryContract } from '@governor/testkit';
import { FileDirectory } from '../file-directory';

describeTenantDirectoryContract('FileDirectory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'file-directory-'));
  return {
    directory: new FileDirectory(root),
    // What the process reads after a restart: everything must come from the files.
    reopen: () => Promise.resolve(new FileDirectory(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

const record: TenantRecord = {
  account_id: 'acme',
  sku_id: 'governor-starter',
  plan_type: 'starter',
  region: 'europe-west1',
  entitlement_id: 'ent-1',
  policy_version: '1.0.0',
  state: 'active',
  concurrency: 5,
  monthly_actions_used: 3,
};

const entry: ActionLogEntry = {
  action_id: 'Sig/1:x-a0',
  kind: 'noop',
  signal_id: 'Sig/1:x',
  state: 'running',
  deadline_at: 1_795_000_000_000,
  recoverable: true,
};

describe('FileDirectory layout', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-directory-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps tenants/{account_id}.json and actions/{account_id}/{encoded action_id}.json, no temporary files', async () => {
    const directory = new FileDirectory(root);
    await directory.put(record);
    await directory.putAction('acme', entry);
    await directory.putAction('acme', { ...entry, state: 'complete' });

    expect(JSON.parse(await readFile(join(root, 'tenants', 'acme.json'), 'utf8'))).toEqual(record);
    // Every byte but a-z 0-9 _ - is percent-encoded: no path characters, no case collisions.
    expect(await readdir(join(root, 'actions', 'acme'))).toEqual(['%53ig%2F1%3Ax-a0.json']);
    expect(
      JSON.parse(await readFile(join(root, 'actions', 'acme', '%53ig%2F1%3Ax-a0.json'), 'utf8')),
    ).toEqual({
      ...entry,
      state: 'complete',
    });
    expect(await readdir(join(root, 'tenants'))).toEqual(['acme.json']);
  });

  it('keeps ids that differ only in case apart', async () => {
    const directory = new FileDirectory(root);
    await directory.putAction('acme', { ...entry, action_id: 'abc' });
    await directory.putAction('acme', { ...entry, action_id: 'ABC' });
    expect((await readdir(join(root, 'actions', 'acme'))).sort()).toEqual(['%41%42%43.json', 'abc.json']);
    expect((await directory.runningActions('acme')).map((a) => a.action_id).sort()).toEqual(['ABC', 'abc']);
  });

  it('delete removes the tenant file and the action directory', async () => {
    const directory = new FileDirectory(root);
    await directory.put(record);
    await directory.putAction('acme', entry);
    await directory.delete('acme');
    expect(await readdir(join(root, 'tenants'))).toEqual([]);
    expect(await readdir(join(root, 'actions'))).toEqual([]);
  });

  it('refuses account ids that are not account ids, without touching the disk', async () => {
    const directory = new FileDirectory(join(root, 'dir'));
    const notAnAccount = { code: 'INVALID_ACCOUNT_ID', retryable: false };
    const refused = { code: 'DIRECTORY_UNAVAILABLE', retryable: false };
    for (const id of ['../etc', 'Acme', 'ac', 'acme/x', '']) {
      await expect(directory.get(id)).rejects.toMatchObject(notAnAccount);
      await expect(directory.put({ ...record, account_id: id })).rejects.toMatchObject(notAnAccount);
      await expect(directory.delete(id)).rejects.toMatchObject(notAnAccount);
      await expect(directory.putAction(id, entry)).rejects.toMatchObject(notAnAccount);
      await expect(directory.runningActions(id)).rejects.toMatchObject(notAnAccount);
    }
    await expect(directory.putAction('acme', { ...entry, action_id: '' })).rejects.toMatchObject(refused);
    await expect(directory.putAction('acme', { ...entry, action_id: 'x'.repeat(300) })).rejects.toMatchObject(
      refused,
    );
    expect(await readdir(root)).toEqual([]);
  });

  it('ignores files that are not records (temporary files, strays) when listing', async () => {
    const directory = new FileDirectory(root);
    await directory.put(record);
    await directory.putAction('acme', entry);
    await writeFile(join(root, 'tenants', '.acme.json.0000.tmp'), '{"partial');
    await writeFile(join(root, 'tenants', 'notes.txt'), 'hello');
    await writeFile(join(root, 'actions', 'acme', '.x.json.0000.tmp'), '{"partial');
    expect(await directory.list()).toEqual([record]);
    expect(await directory.runningActions('acme')).toEqual([entry]);
  });

  it('reports a file that does not hold what its name says as a non-retryable error naming it', async () => {
    const directory = new FileDirectory(root);
    await mkdir(join(root, 'tenants'), { recursive: true });
    await writeFile(join(root, 'tenants', 'acme.json'), 'not json');
    await expect(directory.get('acme')).rejects.toMatchObject({ retryable: false, message: /acme\.json/ });
    await writeFile(join(root, 'tenants', 'acme.json'), JSON.stringify({ ...record, account_id: 'globex' }));
    await expect(directory.list()).rejects.toMatchObject({ retryable: false, message: /acme\.json/ });

    await mkdir(join(root, 'actions', 'acme'), { recursive: true });
    await writeFile(join(root, 'actions', 'acme', 'other.json'), JSON.stringify(entry));
    await expect(directory.runningActions('acme')).rejects.toMatchObject({
      retryable: false,
      message: /other\.json/,
    });
  });

  it('fails with a retryable DIRECTORY_UNAVAILABLE when the disk refuses', async () => {
    // A file where the root should be: nothing can be created under it.
    await writeFile(join(root, 'file'), 'not a directory');
    const directory = new FileDirectory(join(root, 'file'));
    const unavailable = { code: 'DIRECTORY_UNAVAILABLE', retryable: true };
    await expect(directory.put(record)).rejects.toMatchObject(unavailable);
    await expect(directory.putAction('acme', entry)).rejects.toMatchObject(unavailable);
    await expect(directory.list()).rejects.toMatchObject(unavailable);
  });
});
