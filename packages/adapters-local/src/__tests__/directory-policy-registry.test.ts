import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validatePolicy } from '@governor/policy';
import { describePolicyRegistryContract } from '@governor/testkit';
import { DirectoryPolicyRegistry } from '../directory-policy-registry';

const REPO_POLICIES = join(__dirname, '..', '..', '..', '..', 'policies');

describePolicyRegistryContract('DirectoryPolicyRegistry', async () => {
  const root = await mkdtemp(join(tmpdir(), 'policy-registry-'));
  return {
    registry: new DirectoryPolicyRegistry(root),
    reopen: () => Promise.resolve(new DirectoryPolicyRegistry(root)),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});

describe('DirectoryPolicyRegistry layout', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'policy-registry-layout-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("reads the repo's policies/ folder in place, read-only", async () => {
    const registry = new DirectoryPolicyRegistry(REPO_POLICIES, { readOnly: true });
    for (const plan of await readdir(REPO_POLICIES)) {
      if (plan.endsWith('.md')) continue;
      const latest = await registry.latest(plan);
      const validation = validatePolicy(latest);
      expect(validation.ok).toBe(true);
      expect(latest).toMatchObject({ plan_type: plan });
    }
    await expect(registry.put('starter', '9.9.9', { plan_type: 'starter' })).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining('read-only'),
    });
    await expect(readFile(join(REPO_POLICIES, 'starter', '9.9.9.json'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
  });

  it('works on a copy of policies/ and writes {plan}/{version}.json in the same form', async () => {
    await cp(REPO_POLICIES, root, { recursive: true });
    const registry = new DirectoryPolicyRegistry(root);
    const current = (await registry.latest('starter')) as { policy_version: string };
    const next = { ...current, policy_version: '1.0.1' };
    await registry.put('starter', '1.0.1', next);
    expect(await registry.latest('starter')).toEqual(next);
    const text = await readFile(join(root, 'starter', '1.0.1.json'), 'utf8');
    expect(text).toBe(`${JSON.stringify(next, null, 2)}\n`);
    expect((await readdir(join(root, 'starter'))).sort()).toEqual(['1.0.0.json', '1.0.1.json']);
  });

  it('latest ignores files that are not {MAJOR.MINOR.PATCH}.json', async () => {
    const registry = new DirectoryPolicyRegistry(root);
    await registry.put('starter', '1.2.0', { plan_type: 'starter', policy_version: '1.2.0' });
    const dir = join(root, 'starter');
    for (const stray of ['9.0.json', 'latest.json', '10.0.0-beta.json', '.9.9.9.json.1234.tmp', 'README.md'])
      await writeFile(join(dir, stray), '{}');
    expect(await registry.latest('starter')).toEqual({ plan_type: 'starter', policy_version: '1.2.0' });
    await mkdir(join(root, 'empty'));
    await expect(registry.latest('empty')).rejects.toMatchObject({ retryable: false, message: /empty/ });
  });

  it('refuses plan and version strings that are not names, without touching the disk', async () => {
    const registry = new DirectoryPolicyRegistry(join(root, 'registry'));
    for (const plan of ['../etc', 'a/b', 'Starter', '', '.hidden']) {
      await expect(registry.put(plan, '1.0.0', {})).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining(JSON.stringify(plan)),
      });
      await expect(registry.get(plan, '1.0.0')).rejects.toMatchObject({ retryable: false });
      await expect(registry.latest(plan)).rejects.toMatchObject({ retryable: false });
    }
    for (const version of ['1.0', '../1.0.0', '1.0.0/x', '01.0.0', '1.0.0-beta', '']) {
      await expect(registry.put('starter', version, {})).rejects.toMatchObject({
        retryable: false,
        message: expect.stringContaining(JSON.stringify(version)),
      });
      await expect(registry.get('starter', version)).rejects.toMatchObject({ retryable: false });
    }
    await expect(readdir(root)).resolves.toEqual([]);
  });

  it('refuses a document whose plan_type or policy_version contradicts where it is stored', async () => {
    const registry = new DirectoryPolicyRegistry(root);
    await expect(registry.put('starter', '1.1.0', { plan_type: 'enterprise' })).rejects.toMatchObject({
      retryable: false,
    });
    await expect(registry.put('starter', '1.1.0', { policy_version: '1.0.0' })).rejects.toMatchObject({
      retryable: false,
    });
    await expect(registry.put('starter', '1.1.0', undefined)).rejects.toMatchObject({ retryable: false });
    // A file copied under the wrong name by hand is caught on read.
    await mkdir(join(root, 'starter'));
    await writeFile(join(root, 'starter', '2.0.0.json'), JSON.stringify({ policy_version: '1.0.0' }));
    await expect(registry.latest('starter')).rejects.toMatchObject({
      retryable: false,
      message: /2\.0\.0\.json/,
    });
    await writeFile(join(root, 'starter', '2.0.0.json'), '{ not json');
    await expect(registry.get('starter', '2.0.0')).rejects.toMatchObject({
      retryable: false,
      message: /2\.0\.0\.json/,
    });
  });

  it('fails with a retryable LEDGER_UNAVAILABLE when the disk refuses', async () => {
    await writeFile(join(root, 'file'), 'not a directory');
    const registry = new DirectoryPolicyRegistry(join(root, 'file'));
    await expect(registry.put('starter', '1.0.0', {})).rejects.toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: true,
    });
    await expect(registry.latest('starter')).rejects.toMatchObject({ retryable: true });
  });
});
