import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatLogLine } from '../log-format';
import { outcomeOf } from '../signal-outcome';

// End-to-end through the built binary against one `governor start` for the whole file: what
// `webhook send` and `signal send` print (one line, or one JSON document with --json), their
// exit codes, and that the next steps `start` prints work as printed.
const ROOT = join(__dirname, '..', '..', '..', '..');
const MAIN = join(ROOT, 'services', 'cli', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'governor-cli-output-'));
const data = join(dir, 'data');
jest.setTimeout(60_000);

function governor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

let server: ChildProcessWithoutNullStreams;
let banner = '';
let logs = '';
let url = '';
let where: string[] = [];

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  server = spawn(process.execPath, [MAIN, 'start', '--port', '0', '--data-dir', data], { cwd: dir });
  server.stderr.on('data', (c: Buffer) => (logs += c.toString()));
  url = await new Promise<string>((resolve, reject) => {
    server.stdout.on('data', (c: Buffer) => {
      banner += c.toString();
      // The whole summary is out once its last line is.
      const m = /url\s+(http:\/\/\S+)[\s\S]*Ctrl-C/.exec(banner);
      if (m) resolve(m[1] as string);
    });
    server.on('exit', (code) => reject(new Error(`governor start exited ${code}: ${logs.slice(-2000)}`)));
  });
  where = ['--url', url, '--data-dir', data];
});

afterAll(async () => {
  if (server.exitCode === null) {
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('governor start', () => {
  it('prints next steps that name its URL and data dir, and they work as printed', () => {
    // Started outside the checkout, so the hints run the script by its absolute path.
    const self = `bash ${join(ROOT, 'scripts', 'governor.sh')} `;
    const hints = banner.split('\n').filter((l) => l.startsWith(`  ${self}`));
    expect(hints).toEqual([
      `  ${self}webhook send --type entitlement.created --account-id acme --plan starter --url ${url} --data-dir ${data}`,
      `  ${self}signal send --account-id acme --action noop --url ${url} --data-dir ${data}`,
    ]);
    // Run as printed (a shell line), from where start ran.
    const r = spawnSync('bash', ['-c', (hints[0] as string).trim()], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('✔ 200 entitlement_active acme seq 0 (verified)\n');
    expect(r.status).toBe(0);
  });

  it('off a terminal its logs stay JSON lines; on one they read as words', () => {
    expect(JSON.parse(logs.split('\n')[0] as string)).toMatchObject({ level: 30, msg: expect.any(String) });
    const line = JSON.stringify({
      level: 40,
      time: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
      pid: 1,
      hostname: 'h',
      msg: 'webhook refused',
      status: 422,
      code: 'PROVISIONING_FAILED',
      reason: 'no policy is published',
    });
    expect(formatLogLine(line, false)).toBe(
      '03:04:05.006 WARN  webhook refused status=422 code=PROVISIONING_FAILED reason="no policy is published"',
    );
    expect(formatLogLine('not json', false)).toBe('not json');
  });
});

describe('webhook send', () => {
  it('a refusal is one line with the status, code, account and message, and exit 1', () => {
    const r = governor(
      'webhook',
      'send',
      '--type',
      'entitlement.created',
      '--account-id',
      'globex',
      '--plan',
      'nosuch',
      ...where,
    );
    expect(r.stdout).toMatch(
      /^✖ 422 PROVISIONING_FAILED globex: provisioning failed: .*nosuch.* \(entitlement_failed seq 0 \(verified\)\)\n$/,
    );
    expect(r.code).toBe(1);
  });

  it('--json prints one JSON document: the answer and its verification; a redelivery says so', () => {
    const send = ['webhook', 'send', '--type', 'entitlement.created', '--account-id', 'initech'];
    const again = ['--id', 'msg_cli_output_1', '--occurred-at', '2026-01-02T03:04:05Z', ...where];
    const r = governor(...send, ...again, '--json');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      status: 200,
      replayed: false,
      answer: { operation: 'entitlement_active', account_id: 'initech', receipt: { seq: 0 } },
      verification: { ok: true, operation: 'entitlement_active', seq: 0, issues: [] },
    });
    expect(governor(...send, ...again)).toMatchObject({
      code: 0,
      stdout: '✔ 200 entitlement_active initech seq 0 (redelivery: the first answer) (verified)\n',
    });
  });
});

describe('signal send', () => {
  // acme was provisioned by the start hint above.
  it('a permitted action is one line ending in its verified receipt, exit 0', () => {
    const r = governor('signal', 'send', '--account-id', 'acme', '--action', 'noop', ...where);
    expect(r.stdout).toMatch(/^✔ 202 signal [0-9a-f-]{36} → action_complete seq \d+ \(verified\)\n$/);
    expect(r.code).toBe(0);
  });

  it('an action the policy does not permit exits 1 and says not_permitted', () => {
    const r = governor('signal', 'send', '--account-id', 'acme', '--action', 'nope', ...where);
    expect(r.stdout).toMatch(
      /^✖ 202 signal [0-9a-f-]{36} → action_refused not_permitted seq \d+ \(verified\)\n$/,
    );
    expect(r.code).toBe(1);
  });
});

describe('how a signal ended, read from its receipt', () => {
  it.each([
    ['action_complete', 'success', {}, true, null, null],
    ['governor_scaled', 'success', {}, true, null, null],
    ['action_refused', 'refused', { reason: 'quota_exhausted' }, false, 'quota_exhausted', null],
    [
      'action_failed',
      'failed',
      { error_code: 'HTTP_500', error_message: 'upstream said no' },
      false,
      'HTTP_500',
      'upstream said no',
    ],
    ['action_timeout', 'failed', { timeout_ms: 5000 }, false, 'TIMEOUT', 'no answer within 5000 ms'],
    ['action_rolled_back', 'rolled_back', {}, false, 'ROLLED_BACK', null],
    [
      'quota_exceeded',
      'refused',
      { concurrency: { previous: 5, requested: 50 }, max_concurrent_actions: 10 },
      false,
      'quota_exceeded',
      'requested an in-flight limit of 50, the plan allows 10',
    ],
  ])('%s (%s, %j) → ok %s, reason %s', (operation, status, fields, ok, reason, message) => {
    expect(outcomeOf({ receipt_id: 'r', seq: 1, operation, status, ...fields })).toMatchObject({
      ok,
      reason,
      message,
    });
  });
});

it('every flag these commands take is in their usage line', () => {
  const help = governor('--help').stdout.split('\n');
  const flagsOf = (command: string) =>
    (help.find((l) => l.startsWith(`  governor ${command} `)) ?? '').match(/--[a-z-]+/g);
  expect(flagsOf('webhook send')?.sort()).toEqual(
    [
      '--type',
      '--account-id',
      '--plan',
      '--sku',
      '--region',
      '--entitlement-id',
      '--reason',
      '--id',
      '--occurred-at',
      '--no-verify',
      '--url',
      '--data-dir',
      '--json',
    ].sort(),
  );
  expect(flagsOf('signal send')?.sort()).toEqual(
    [
      '--account-id',
      '--action',
      '--params',
      '--scale',
      '--no-wait',
      '--wait-ms',
      '--url',
      '--data-dir',
      '--json',
    ].sort(),
  );
  expect(flagsOf('start')?.sort()).toEqual(['--port', '--host', '--data-dir', '--backend', '--json'].sort());
});
