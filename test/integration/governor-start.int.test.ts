import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { edgeClient, runCli, startGovernorProcess, type StartedGovernor } from '../support/governor-start';

// The newcomer's path on the embedded default: `governor start`, then the CLI helpers that sign
// like a real sender, end to end over HTTP; no backend is needed.
jest.setTimeout(120_000);

async function cli(args: string[], env: Record<string, string> = {}) {
  const run = runCli(args, env);
  const code = await run.exit;
  return { code, stdout: run.stdout(), stderr: run.stderr() };
}

describe('governor start on the embedded default', () => {
  let dir: string;
  let governor: StartedGovernor;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-start-'));
    governor = await startGovernorProcess(join(dir, 'data'));
  });
  afterAll(async () => {
    await governor?.stop('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  it('prints its URL and the next command, and makes 0600 development secrets', async () => {
    expect(governor.stdout()).toMatch(/webhook send --type entitlement\.created --account-id acme/);
    const { stat } = await import('node:fs/promises');
    expect((await stat(join(dir, 'data', 'dev-secrets.json'))).mode & 0o777).toBe(0o600);
  });

  it('a second governor start or demo on the same data dir refuses at once: exit 2, one line naming the pid and URL', async () => {
    for (const args of [
      ['start', '--port', '0', '--data-dir', join(dir, 'data')],
      ['demo', '--data-dir', join(dir, 'data')],
    ]) {
      const second = await cli(args);
      expect(second.code).toBe(2);
      // start says only that; demo has said where its data is first.
      const lines = second.stderr.trim().split('\n');
      expect(lines).toHaveLength(args[0] === 'start' ? 1 : 2);
      expect(lines.at(-1)).toMatch(
        new RegExp(
          `is in use: already running: pid ${String(governor.pid)}, ${governor.url.replace(/[.]/g, '\\.')} `,
        ),
      );
    }
    // The running one is unaffected.
    expect((await fetch(`${governor.url}/readyz`)).status).toBe(200);
  });

  it('webhook send → verified entitlement_active; policy push → upgraded; signal send → verified action receipt; cancel → decommission_complete', async () => {
    const common = ['--url', governor.url, '--data-dir', join(dir, 'data')];
    const created = await cli([
      'webhook',
      'send',
      '--type',
      'entitlement.created',
      '--account-id',
      'acme',
      '--plan',
      'starter',
      ...common,
    ]);
    expect(created.stdout).toBe('✔ 200 entitlement_active acme seq 0 (verified)\n');
    expect(created.code).toBe(0);

    const policy = JSON.parse(
      await readFile(join(__dirname, '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
    ) as Record<string, unknown>;
    await writeFile(join(dir, 'starter-1.1.0.json'), JSON.stringify({ ...policy, policy_version: '1.1.0' }));
    const pushed = await cli(['policy', 'push', join(dir, 'starter-1.1.0.json'), ...common, '--json']);
    expect(pushed.code).toBe(0);
    expect(JSON.parse(pushed.stdout)).toMatchObject({
      policy_version: '1.1.0',
      previous_version: '1.0.0',
      compatibility_check: 'passed',
      governors_updated: 1,
      governors_failed: 0,
    });
    // The same policy again (a GitOps re-run) changes nothing and is not an error.
    const again = await cli(['policy', 'push', join(dir, 'starter-1.1.0.json'), ...common, '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ policy_version: '1.1.0', governors_updated: 0 });
    await writeFile(join(dir, 'starter-2.0.0.json'), JSON.stringify({ ...policy, policy_version: '2.0.0' }));
    const major = await cli(['policy', 'push', join(dir, 'starter-2.0.0.json'), ...common, '--json']);
    expect(major.code).toBe(1);
    expect(JSON.parse(major.stdout)).toMatchObject({ code: 'POLICY_INCOMPATIBLE' });

    const signal = await cli(['signal', 'send', '--account-id', 'acme', '--action', 'noop', ...common]);
    expect(signal.stdout).toMatch(/^✔ 202 signal \S+ → action_complete seq \d+ \(verified\)$/m);
    expect(signal.code).toBe(0);

    const cancelled = await cli([
      'webhook',
      'send',
      '--type',
      'entitlement.cancelled',
      '--account-id',
      'acme',
      '--reason',
      'test',
      '--json',
      ...common,
    ]);
    expect(cancelled.code).toBe(0);
    expect(JSON.parse(cancelled.stdout)).toMatchObject({ answer: { operation: 'decommission_start' } });

    const edge = edgeClient(governor.url, governor.secrets);
    let operations: string[] = [];
    for (let i = 0; i < 100 && !operations.includes('decommission_complete'); i++) {
      const page = await edge.get('/v1/tenants/acme/receipts?limit=1000');
      operations = (page.body.receipts as { body: { operation: string } }[]).map((r) => r.body.operation);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(operations).toEqual([
      'entitlement_active',
      'policy_upgraded',
      'action_complete',
      'decommission_start',
      'decommission_complete',
    ]);
    const refused = await edge.post('/v1/tenants/acme/signals', { action_kind: 'noop' });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'DECOMMISSIONED' });
  });

  it('a sender with the wrong secret is refused with the envelope and exit 1; nothing is provisioned', async () => {
    const wrong = `whsec_${Buffer.alloc(24, 9).toString('base64')}`;
    const sent = await cli(
      [
        'webhook',
        'send',
        '--type',
        'entitlement.created',
        '--account-id',
        'intruder',
        '--url',
        governor.url,
        '--data-dir',
        join(dir, 'data'),
        '--json',
      ],
      { GOVERNOR_WEBHOOK_SECRETS: wrong },
    );
    expect(sent.code).toBe(1);
    expect(JSON.parse(sent.stdout)).toMatchObject({
      ok: false,
      status: 401,
      answer: { code: 'BAD_SIGNATURE' },
    });
    const edge = edgeClient(governor.url, governor.secrets);
    expect((await edge.get('/v1/tenants/intruder')).status).toBe(404);
  });

  it('stops on SIGTERM with exit 0, and the chain it wrote verifies offline', async () => {
    expect(await governor.stop('SIGTERM')).toBe(0);
    expect(governor.stdout()).toMatch(/governor: stopped/);
    const data = join(dir, 'data');
    const verified = await cli([
      'verify-chain',
      '--account-id',
      'acme',
      '--data-dir',
      data,
      '--keys',
      join(data, 'keys', 'keys.json'),
    ]);
    expect(verified.stdout + verified.stderr).toMatch(/VALID/);
    expect(verified.code).toBe(0);
  });
});
