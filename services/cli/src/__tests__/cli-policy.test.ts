import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `governor policy validate|diff|push` end to end through the built binary, as a GitOps pipeline
// runs them. `tsc -b` runs before the tests in the suite (scripts/test.sh), so dist/ is current.
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const REPO_POLICIES = join(__dirname, '..', '..', '..', '..', 'policies');
// Each run is a node process; on a loaded machine a test takes several seconds.
jest.setTimeout(60_000);
const dir = mkdtempSync(join(tmpdir(), 'governor-cli-policy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function governor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

type Doc = Record<string, unknown> & { quotas: Record<string, number>; actions: Record<string, unknown> };
const starter = JSON.parse(readFileSync(join(REPO_POLICIES, 'starter', '1.0.0.json'), 'utf8')) as Doc;
const write = (file: string, doc: unknown) => writeFileSync(join(dir, file), JSON.stringify(doc, null, 2));
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  // A checkout of its own: the repo's policies/, plus the files each test adds.
  cpSync(REPO_POLICIES, join(dir, 'policies'), { recursive: true });
  write('policies/starter/1.1.0.json', {
    ...starter,
    policy_version: '1.1.0',
    quotas: { ...starter.quotas, monthly_actions: 5000, max_concurrent_actions: 20 },
  });
  const actions = { ...starter.actions };
  delete actions.webhook;
  write('starter-2.0.0.json', { ...starter, policy_version: '2.0.0', actions });
});

describe('governor policy validate', () => {
  it('passes every policy the repo ships: exit 0, one ✔ line per file', () => {
    const files = readdirSync(REPO_POLICIES, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.json'))
      .map((f) => join(REPO_POLICIES, f));
    expect(files.length).toBeGreaterThanOrEqual(3);
    const run = governor('policy', 'validate', ...files);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(lines(run.stdout)).toHaveLength(files.length);
    for (const line of lines(run.stdout)) expect(line).toMatch(/^✔ .+\.json: [a-z]+ \d+\.\d+\.\d+$/);
    // A folder means every .json under it.
    expect(governor('policy', 'validate', REPO_POLICIES).code).toBe(0);
  });

  it('a broken copy: exit 1, each issue on its own line as FILE: path: message', () => {
    write('broken.json', {
      ...starter,
      plan_type: 'Starter',
      quotas: { ...starter.quotas, concurrent_actions: 50 },
      colour: 'red',
    });
    const run = governor('policy', 'validate', 'broken.json');
    expect(run.code).toBe(1);
    expect(lines(run.stdout)).toEqual([
      expect.stringMatching(/^broken\.json: plan_type: expected a lower-case id/),
      'broken.json: quotas.concurrent_actions: concurrent_actions (50) must not exceed max_concurrent_actions (10)',
      'broken.json: colour: unknown field',
    ]);
  });

  it.each([
    [
      'plan_type that does not name its folder',
      'policies/professional/1.0.1.json',
      { ...starter, policy_version: '1.0.1' },
      'policies/professional/1.0.1.json: plan_type: "starter" does not match the folder policies/professional/',
    ],
    [
      'policy_version that does not name its file',
      'policies/starter/1.0.2.json',
      { ...starter, policy_version: '1.0.3' },
      'policies/starter/1.0.2.json: policy_version: "1.0.3" does not match the file name 1.0.2.json',
    ],
  ])('in policies/{plan}/{version}.json, a %s: exit 1', (_what, file, doc, issue) => {
    write(file, doc);
    try {
      const run = governor('policy', 'validate', file);
      expect(run.code).toBe(1);
      expect(lines(run.stdout)).toEqual([issue]);
    } finally {
      rmSync(join(dir, file));
    }
  });

  it('unparseable JSON is an issue of the whole document; --json lists files and issues', () => {
    writeFileSync(join(dir, 'truncated.json'), '{"policy_version": ');
    const run = governor('policy', 'validate', 'truncated.json');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^truncated\.json: \(document\): not valid JSON: /);
    const json = governor('policy', 'validate', 'truncated.json', 'policies/starter/1.0.0.json', '--json');
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toEqual({
      ok: false,
      files: [
        {
          file: 'truncated.json',
          ok: false,
          plan_type: null,
          policy_version: null,
          issues: [{ path: '', message: expect.stringMatching(/^not valid JSON/) }],
        },
        {
          file: 'policies/starter/1.0.0.json',
          ok: true,
          plan_type: 'starter',
          policy_version: '1.0.0',
          issues: [],
        },
      ],
    });
  });

  it('a missing file is a one-line error, exit 2', () => {
    const run = governor('policy', 'validate', 'nope.json');
    expect(run).toMatchObject({ code: 2, stdout: '' });
    expect(run.stderr).toBe('governor: cannot read policy file nope.json: ENOENT\n');
  });
});

describe('governor policy diff', () => {
  it('a compatible change (quotas raised) against the previous version in the folder: the fields, the verdict, the cost', () => {
    const run = governor('policy', 'diff', 'policies/starter/1.1.0.json');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(
      [
        'policy starter 1.0.0 -> 1.1.0 (policies/starter/1.0.0.json -> policies/starter/1.1.0.json)',
        '  policy_version: "1.0.0" -> "1.1.0"',
        '  quotas.monthly_actions: 1000 -> 5000',
        '  quotas.max_concurrent_actions: 10 -> 20',
        '✔ compatible: a push upgrades running governors without a restart',
        'cost per governor: +$0.00/h at start (5 -> 5 slots, $0.10/h -> $0.10/h), +$0.20/h at the ceiling (10 -> 20 slots, $0.20/h -> $0.40/h)',
        '',
      ].join('\n'),
    );
  });

  it('an incompatible change (action removed, major bump) from outside the folder: exit 1, the reasons and the --force hint', () => {
    const run = governor('policy', 'diff', 'starter-2.0.0.json', '--against', '1.0.0');
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('  - action kind "webhook"\n');
    expect(run.stdout).toContain(
      '✖ incompatible: major version bump 1 -> 2; action kind "webhook" removed\n',
    );
    expect(run.stdout).toContain('push with --force to apply it anyway');
    expect(run.stdout).toContain('cost per governor: +$0.00/h at start');
  });

  it('--json parses and carries the verdict and the cost delta', () => {
    const run = governor('policy', 'diff', 'starter-2.0.0.json', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: false,
      file: 'starter-2.0.0.json',
      against: join('policies', 'starter', '1.1.0.json'),
      plan_type: 'starter',
      from: '1.1.0',
      to: '2.0.0',
      compatible: false,
      reasons: ['major version bump 1 -> 2', 'action kind "webhook" removed'],
      refusal: null,
      cost: { ceiling: { slots: { from: 20, to: 10 }, delta_usd_per_hour: -0.2 } },
    });
  });

  it('a version the folder already has with other content would be refused even with --force', () => {
    write('starter-dup.json', { ...starter, policy_version: '1.1.0' });
    const run = governor('policy', 'diff', 'starter-dup.json');
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^✖ refused: version 1\.1\.0 is already published with other content/m);
  });

  it.each([
    [
      ['--against', '9.9.9'],
      /^governor: no starter 9\.9\.9 in policies\/starter\/ \(it has 1\.0\.0, 1\.1\.0\)$/,
    ],
    [['--url', 'http://127.0.0.1:1'], /no route that returns its current policy/],
  ])('%j is a one-line error, exit 2', (flags, message) => {
    const run = governor('policy', 'diff', 'starter-2.0.0.json', ...flags);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(message);
  });
});

describe('governor policy (help)', () => {
  it('no subcommand prints the policy help and exits 2; --help exits 0; every flag is in a usage line', () => {
    const bare = governor('policy');
    expect(bare.code).toBe(2);
    const help = governor('policy', '--help');
    expect(help.code).toBe(0);
    expect(bare.stdout).toBe(help.stdout);
    expect(help.stdout).toContain('governor policy validate FILE|DIR... [--json]');
    expect(help.stdout).toContain('governor policy diff FILE [--against VERSION] [--policies DIR] [--json]');
    expect(help.stdout).toContain(
      'governor policy push FILE [--force] [--skip-compatibility-check] [--url URL] [--data-dir DIR] [--json]',
    );
    expect(governor('policy', 'diff', '--help')).toMatchObject({ code: 0, stdout: help.stdout });
  });
});

// `policy push` needs a governor: one `governor start` on the embedded default for these tests.
describe('governor policy push', () => {
  let child: ChildProcess;
  let url: string;
  const data = join(dir, 'data');
  const push = (...args: string[]) => governor('policy', 'push', ...args, '--url', url, '--data-dir', data);

  beforeAll(async () => {
    child = spawn(process.execPath, [MAIN, 'start', '--port', '0', '--data-dir', data], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`governor start printed no url: ${stderr}`)), 60_000);
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
        const m = /url\s+(http:\/\/\S+)/.exec(stdout);
        if (m) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`governor start exited ${String(code)}: ${stderr}`));
      });
    });
  }, 70_000);
  afterAll(() => {
    child?.kill('SIGKILL');
  });

  it('a compatible push: one ✔ line, exit 0; pushed again it is already current', () => {
    expect(push('policies/starter/1.1.0.json')).toMatchObject({
      code: 0,
      stdout: '✔ 200 policy starter 1.1.0 upgraded from 1.0.0: 0 governors updated, 0 failed (compatible)\n',
    });
    expect(push('policies/starter/1.1.0.json')).toMatchObject({
      code: 0,
      stdout: '✔ 200 policy starter 1.1.0 already current: 0 governors updated, 0 failed\n',
    });
  });

  it('an incompatible push: ✖ 409 POLICY_INCOMPATIBLE with the reasons and the --force hint (not "force": true), exit 1', () => {
    const run = push('starter-2.0.0.json');
    expect(run.code).toBe(1);
    expect(lines(run.stdout)).toEqual([
      '✖ 409 POLICY_INCOMPATIBLE starter 2.0.0 over 1.1.0: major version bump 1 -> 2; action kind "webhook" removed',
      '  to apply it anyway, push again with --force (running governors are upgraded; an escalation receipt is written)',
    ]);
    expect(run.stdout).not.toContain('"force"');
  });

  it('--json prints the answer as one JSON document', () => {
    const run = push('starter-2.0.0.json', '--json');
    expect(run.code).toBe(1);
    expect(JSON.parse(run.stdout)).toMatchObject({
      code: 'POLICY_INCOMPATIBLE',
      details: { policy_version: '2.0.0', previous_version: '1.1.0' },
    });
  });

  it('an invalid policy: ✖ 422 POLICY_INVALID and one line per issue, exit 1', () => {
    write('invalid.json', { ...starter, policy_version: '1.2.0', colour: 'red' });
    const run = push('invalid.json');
    expect(run.code).toBe(1);
    expect(lines(run.stdout)).toEqual([
      '✖ 422 POLICY_INVALID starter 1.2.0: 1 issue',
      '  colour: unknown field',
    ]);
  });

  it('--force applies the incompatible one: (forced)', () => {
    expect(push('starter-2.0.0.json', '--force')).toMatchObject({
      code: 0,
      stdout: '✔ 200 policy starter 2.0.0 upgraded from 1.1.0: 0 governors updated, 0 failed (forced)\n',
    });
  });
});
