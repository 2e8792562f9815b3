import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

// `bash scripts/governor.sh` as a user runs it: from a directory outside the repository, with
// relative paths, which must be the caller's. The repository is built before the tests (`tsc -b`
// in scripts/test.sh), so the script goes straight to the CLI.
const REPO = join(__dirname, '..', '..', '..', '..');
const SCRIPT = join(REPO, 'scripts', 'governor.sh');
const cwd = realpathSync(mkdtempSync(join(tmpdir(), 'governor-paths-')));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));
// Each CLI start takes a second or more (several on a busy machine).
jest.setTimeout(60_000);

// Without the caller's GOVERNOR_* settings, so the defaults are what is tested.
const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('GOVERNOR_'))),
  ...extra,
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function governor(args: string[], extraEnv: Record<string, string> = {}): Run {
  const r = spawnSync('bash', [SCRIPT, ...args], {
    cwd,
    env: env(extraEnv),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('bash scripts/governor.sh resolves every path against the caller’s directory', () => {
  beforeAll(() => {
    const main = join(REPO, 'services', 'cli', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run \`pnpm build\` first`);
  });

  it('keys generate --out, receipts sample --keys/--out/--checkpoint-out/--archive-out, verify-chain FILE --keys --checkpoint', () => {
    expect(governor(['keys', 'generate', '--out', 'keys']).code).toBe(0);
    expect(existsSync(join(cwd, 'keys', 'signing-key.pem'))).toBe(true);
    const sample = governor([
      'receipts',
      'sample',
      '--chain',
      'tenants/acme',
      '--count',
      '20',
      '--keys',
      'keys',
      '--out',
      'chain.jsonl',
      '--checkpoint-out',
      'chain.note',
      '--archive-out',
      'chain.tar.gz',
    ]);
    expect(sample.code).toBe(0);
    for (const f of ['chain.jsonl', 'chain.note', 'chain.tar.gz'])
      expect(existsSync(join(cwd, f))).toBe(true);
    expect(
      governor(['verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json', '--checkpoint', 'chain.note']),
    ).toMatchObject({ code: 0, stdout: expect.stringMatching(/^VALID: 20 receipts/) });
  });

  it('--data-dir and export-receipts --out/--checkpoint-out are the caller’s', () => {
    expect(governor(['demo', '--data-dir', 'demo']).code).toBe(0);
    expect(existsSync(join(cwd, 'demo', 'keys', 'keys.json'))).toBe(true);
    const args = ['--account-id', 'globex', '--data-dir', 'demo', '--out', 'globex.jsonl'];
    expect(governor(['export-receipts', ...args, '--checkpoint-out', 'globex.note']).code).toBe(0);
    expect(readFileSync(join(cwd, 'globex.jsonl'), 'utf8')).toMatch(/^\{"body":/);
    expect(readFileSync(join(cwd, 'globex.note'), 'utf8')).toMatch(/^governor\/tenants\/globex\n/);
  });

  it('GOVERNOR_DATA_DIR is where export-receipts and verify-chain read the chain too, as start and signal send do', () => {
    expect(governor(['demo', '--data-dir', 'shared']).code).toBe(0);
    const env = { GOVERNOR_DATA_DIR: 'shared' };
    expect(governor(['export-receipts', '--account-id', 'globex', '--out', 'env.jsonl'], env).code).toBe(0);
    expect(readFileSync(join(cwd, 'env.jsonl'), 'utf8')).toMatch(/^\{"body":/);
    const verified = governor(
      ['verify-chain', '--account-id', 'globex', '--keys', 'shared/keys/keys.json'],
      env,
    );
    expect(verified.stdout).toMatch(/^VALID: \d+ receipts of tenants\/globex/m);
  });

  it.each([
    ['the default data dir .governor', ['export-receipts', '--account-id', 'nobody'], {}, '.governor'],
    [
      'GOVERNOR_DATA_DIR',
      ['signal', 'send', '--account-id', 'acme', '--action', 'noop'],
      { GOVERNOR_DATA_DIR: 'state' },
      'state',
    ],
  ])(
    '%s is relative to the caller’s directory',
    (_, args: string[], extraEnv: Record<string, string>, dir) => {
      const r = governor(args, extraEnv);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(join(cwd, dir));
    },
  );

  it('policy push FILE sends the caller’s file (signed with the caller’s .governor/dev-secrets.json)', async () => {
    writeFileSync(join(cwd, 'my-policy.json'), JSON.stringify({ marker: 'the caller’s policy' }));
    mkdirSync(join(cwd, '.governor'), { recursive: true });
    writeFileSync(
      join(cwd, '.governor', 'dev-secrets.json'),
      JSON.stringify({
        webhook_secrets: [`whsec_${Buffer.alloc(24, 1).toString('base64')}`],
        policy_secrets: [`whsec_${Buffer.alloc(24, 2).toString('base64')}`],
        api_tokens: 'admin:gov_test_token_0123456789',
      }),
    );
    const received: string[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push(`${req.method} ${req.url} ${body}`);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            outcome: 'upgraded',
            policy_version: '1.0.1',
            previous_version: '1.0.0',
            compatibility_check: 'passed',
            governors_updated: 0,
            governors_failed: 0,
            duration_ms: 1,
            reasons: [],
            receipt_id: null,
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const child = spawn('bash', [SCRIPT, 'policy', 'push', 'my-policy.json', '--url', url], {
        cwd,
        env: env(),
      });
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
      const code = await new Promise<number | null>((done) => child.on('close', done));
      expect({ code, stderr }).toMatchObject({ code: 0 });
    } finally {
      server.close();
    }
    expect(received).toHaveLength(1);
    expect(received[0]).toMatch(/^POST \/v1\/policies .*the caller’s policy/);
  });
});

// The first run, on a copy of the script in a stand-in repository whose `pnpm` and bootstrap
// only make the files a real install and build would: each step is one line with its time on
// stderr, their output stays out of the way unless a step fails.
describe('bash scripts/governor.sh on a fresh clone', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'governor-fresh-')));
  const clone = join(root, 'clone');
  const caller = join(root, 'caller');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(() => {
    mkdirSync(join(clone, 'scripts'), { recursive: true });
    mkdirSync(join(root, 'bin'));
    mkdirSync(caller);
    copyFileSync(SCRIPT, join(clone, 'scripts', 'governor.sh'));
    writeFileSync(join(clone, 'scripts', 'bootstrap.sh'), 'echo "bootstrap: chatter" >&2\n');
    writeFileSync(
      join(root, 'bin', 'pnpm'),
      `#!/usr/bin/env bash
set -e
echo "pnpm: chatter $*"
case "$1" in
  install) mkdir -p node_modules ;;
  run)
    if [ -n "\${FAIL_BUILD:-}" ]; then echo "error TS2322: the build broke" >&2; exit 3; fi
    mkdir -p services/cli/dist services/ingress/dist
    touch services/ingress/dist/index.js
    echo 'console.log(JSON.stringify({ cwd: process.cwd(), args: process.argv.slice(2) }))' > services/cli/dist/main.js ;;
esac
`,
    );
    chmodSync(join(root, 'bin', 'pnpm'), 0o755);
  });

  const run = (extraEnv: Record<string, string> = {}) =>
    spawnSync('bash', [join(clone, 'scripts', 'governor.sh'), 'verify-chain', 'my chain.jsonl'], {
      cwd: caller,
      env: {
        PATH: `${join(root, 'bin')}:${dirname(process.execPath)}:/usr/bin:/bin`,
        HOME: root,
        ...extraEnv,
      },
      encoding: 'utf8',
      timeout: 30_000,
    });

  it('a failing step says which, after how long, and shows its output; the CLI does not run', () => {
    const r = run({ FAIL_BUILD: '1' });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^governor: first run: building\.\.\. failed after \d+\.\ds \(exit 3\):\npnpm: chatter run -s build\nerror TS2322: the build broke\n$/m,
    );
  });

  it('shows bootstrap, install and build each with its time, then runs the CLI in the caller’s directory', () => {
    const r = run();
    expect(r.status).toBe(0);
    expect(r.stderr.split('\n')).toEqual([
      expect.stringMatching(/^governor: first run: checking pnpm\.\.\. \d+\.\ds$/),
      expect.stringMatching(/^governor: first run: installing dependencies\.\.\. \d+\.\ds$/),
      expect.stringMatching(/^governor: first run: building\.\.\. \d+\.\ds$/),
      '',
    ]);
    expect(JSON.parse(r.stdout)).toEqual({ cwd: caller, args: ['verify-chain', 'my chain.jsonl'] });
    expect(readFileSync(join(clone, 'services', 'cli', 'dist', 'main.js'), 'utf8')).toContain(
      'process.cwd()',
    );
  });

  it('later runs go straight to the CLI, silently', () => {
    const r = run();
    expect(r).toMatchObject({ status: 0, stderr: '' });
    expect(JSON.parse(r.stdout)).toMatchObject({ cwd: caller });
  });
});
