import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TenantRecord } from '@governor/governor';
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

describe('FileDirectory layout', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'file-directory-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps tenants/{account_id}.json, and no temporary files', async () => {
    const directory = new FileDirectory(root);
    await directory.put({ ...record, state: 'provisioning' });
    await directory.put(record);
    expect(JSON.parse(await readFile(join(root, 'tenants', 'acme.json'), 'utf8'))).toEqual(record);
    expect(await readdir(root)).toEqual(['tenants']);
    expect(await readdir(join(root, 'tenants'))).toEqual(['acme.json']);
  });

  it('delete removes the tenant file', async () => {
    const directory = new FileDirectory(root);
    await directory.put(record);
    await directory.delete('acme');
    expect(await readdir(join(root, 'tenants'))).toEqual([]);
    expect(await directory.get('acme')).toBeNull();
  });

  it('refuses account ids that are not account ids, without touching the disk', async () => {
    const directory = new FileDirectory(join(root, 'dir'));
    const notAnAccount = { code: 'INVALID_ACCOUNT_ID', retryable: false };
    for (const id of ['../etc', 'Acme', 'ac', 'acme/x', '']) {
      await expect(directory.get(id)).rejects.toMatchObject(notAnAccount);
      await expect(directory.put({ ...record, account_id: id })).rejects.toMatchObject(notAnAccount);
      await expect(directory.delete(id)).rejects.toMatchObject(notAnAccount);
    }
    expect(await readdir(root)).toEqual([]);
  });

  it('ignores files that are not records (temporary files, strays) when listing', async () => {
    const directory = new FileDirectory(root);
    await directory.put(record);
    await writeFile(join(root, 'tenants', '.acme.json.0000.tmp'), '{"partial');
    await writeFile(join(root, 'tenants', 'notes.txt'), 'hello');
    expect(await directory.list()).toEqual([record]);
  });

  it('reports a file that does not hold what its name says as a non-retryable error naming it', async () => {
    const directory = new FileDirectory(root);
    await mkdir(join(root, 'tenants'), { recursive: true });
    await writeFile(join(root, 'tenants', 'acme.json'), 'not json');
    await expect(directory.get('acme')).rejects.toMatchObject({ retryable: false, message: /acme\.json/ });
    await writeFile(join(root, 'tenants', 'acme.json'), JSON.stringify({ ...record, account_id: 'globex' }));
    await expect(directory.list()).rejects.toMatchObject({ retryable: false, message: /acme\.json/ });
  });

  it('fails with a retryable DIRECTORY_UNAVAILABLE when the disk refuses', async () => {
    // A file where the root should be: nothing can be created under it.
    await writeFile(join(root, 'file'), 'not a directory');
    const directory = new FileDirectory(join(root, 'file'));
    const unavailable = { code: 'DIRECTORY_UNAVAILABLE', retryable: true };
    await expect(directory.put(record)).rejects.toMatchObject(unavailable);
    await expect(directory.delete('acme')).rejects.toMatchObject(unavailable);
    await expect(directory.list()).rejects.toMatchObject(unavailable);
  });
});
