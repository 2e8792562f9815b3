import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GovernorRuntime } from '@governor/governor';
import { Keyring, verifyLines } from '@governor/receipts';
import { spawnTs } from '@governor/testkit';
import { CRASH_KEY, fileRuntimeDeps } from './support/file-stores';

jest.setTimeout(30_000);

describe('a worker killed with SIGKILL mid-action', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-crash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('leaves the action in the log; the next worker reconciles it and the chain stays contiguous', async () => {
    const child = spawnTs(join(__dirname, 'support', 'crash-child.ts'), { DATA_DIR: dir });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        if (c.toString().includes('running')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited early (${code}): ${stderr}`)));
    });
    const exited = new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const deps = await fileRuntimeDeps(dir, 'worker-b');
    expect((await deps.directory.runningActions('acme')).map((a) => a.signal_id)).toEqual(['slow-1']);
    const runtime = await GovernorRuntime.start(deps);
    expect(await runtime.resume()).toEqual({ tenants: 1, reconciled: 1 });

    await runtime.submit({
      signal_id: 'after',
      account_id: 'acme',
      type: 'action',
      action_kind: 'noop',
      params: {},
      published_at: Date.now(),
    });
    const deadline = Date.now() + 5_000;
    while (((await deps.ledger.head('tenants/acme'))?.size ?? 0) < 4 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    await runtime.stop();

    const lines: string[] = [];
    for await (const r of deps.ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    const ops = lines.map(
      (l) => (JSON.parse((JSON.parse(l) as { body: string }).body) as { operation: string }).operation,
    );
    expect(ops).toEqual(['entitlement_active', 'action_timeout', 'action_rolled_back', 'action_complete']);
    const report = await verifyLines(lines, {
      keyring: new Keyring([CRASH_KEY.publicEntry('2026-01-01T00:00:00.000Z')]),
      threads: 0,
      expectedChain: 'tenants/acme',
    });
    expect(report).toMatchObject({ ok: true, count: 4 });
    expect(await deps.directory.runningActions('acme')).toEqual([]);
  });
});
