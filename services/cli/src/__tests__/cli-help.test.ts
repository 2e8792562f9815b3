import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type * as Args from '../args';
import type { Options } from '../args';
import type * as Cli from '../cli';
import { environmentError } from '../errors';

// Help, version, flag typos, configuration errors and the verify commands' one rule (issue 13,
// items 4, 5 and 8): through the built binary, as a user runs it, except for the option tables,
// read from the parser itself.
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const VERSION = (
  JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }
).version;
const dir = mkdtempSync(join(tmpdir(), 'governor-cli-help-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function governor(
  args: string[],
  env: NodeJS.ProcessEnv = {},
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** One line on stderr after `governor: `, no stack: what every expected failure looks like. */
const oneLine = (stderr: string) => {
  expect(stderr).toMatch(/^governor: /);
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toMatch(/unexpected error/);
};

// Every command's parser, caught as it is called: the options it accepts and the usage it shows.
const SEEN = new Error('parser reached');
let seen: { options: Options; usage: string } | null = null;
jest.mock('../args', () => {
  const actual = jest.requireActual<typeof Args>('../args');
  return {
    ...actual,
    parse: (_argv: string[], options: Options, usage: string) => {
      seen = { options, usage };
      throw SEEN;
    },
  };
});
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { COMMANDS } = require('../cli') as typeof Cli;

describe('every flag a command accepts is in its usage line', () => {
  it.each(Object.keys(COMMANDS))('%s', async (name) => {
    const command = COMMANDS[name];
    if (!command) throw new Error(name);
    seen = null;
    await expect(command.run(command.sub ? [command.sub] : [])).rejects.toBe(SEEN);
    const { options, usage } = seen as unknown as { options: Options; usage: string };
    // In the usage line a usage error prints, and in the help.
    const listed = (text: string) => (flag: string) => new RegExp(`--${flag}(?![a-z-])`).test(text);
    const missing = Object.keys(options).filter(
      (flag) => !listed(usage)(flag) || !listed(command.help)(flag),
    );
    expect(missing).toEqual([]);
  });
});

describe('--help and --version everywhere', () => {
  beforeAll(() => {
    if (!readFileSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  });

  it.each([
    ['--version'],
    ['-V'],
    ['version'],
    ['keys', '--version'],
    ['verify-chain', '-V'],
    ['start', '--version'],
  ])('governor %s prints the version of services/cli/package.json', (...args) => {
    expect(governor(args)).toEqual({ code: 0, stdout: `governor ${VERSION}\n`, stderr: '' });
  });

  it.each(Object.keys(COMMANDS))('governor help %s and COMMAND --help print its help', (name) => {
    const help = governor(['help', name]);
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(new RegExp(`^governor ${name}( |\\n)`));
    expect(governor([name, '--help'])).toEqual(help);
    if (name === 'keys') expect(governor([name, '-h'])).toEqual(help);
  });

  it.each([['keys'], ['receipts']])('governor %s without a subcommand prints its help, exit 2', (name) => {
    const r = governor([name]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(governor(['help', name]).stdout);
  });

  it('governor help lists every command; help of an unknown one is one line, exit 2', () => {
    const r = governor(['help']);
    expect(r.code).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(r.stdout).toContain(`governor ${name}`);
    const unknown = governor(['help', 'frobnicate']);
    expect(unknown.code).toBe(2);
    oneLine(unknown.stderr);
  });
});

describe('a mistyped flag', () => {
  it.each([
    [['export-receipts', '--acount-id', 'acme'], '--acount-id', '--account-id'],
    [['verify-chain', 'x.jsonl', '--chekpoint', 'c.note'], '--chekpoint', '--checkpoint'],
    [['receipts', 'sample', '--cuont', '3'], '--cuont', '--count'],
    [['keys', 'generate', '--otu', 'k'], '--otu', '--out'],
  ])('%j names the flag it meant, then the usage line', (args, typo, meant) => {
    const r = governor(args);
    expect(r.code).toBe(2);
    const [first, usage, ...rest] = r.stderr.split('\n');
    expect(first).toBe(`governor: unknown option ${typo}; did you mean ${meant}?`);
    expect(usage).toMatch(/^usage: governor /);
    expect(rest).toEqual(['']);
  });

  it.each([
    [['verify-chain', 'x.jsonl', '--bogus'], 'governor: unknown option --bogus'],
    [['verify-chain', 'x.jsonl', '--keys'], 'governor: option --keys needs a value'],
    [['verify-chain', 'x.jsonl', '--json=yes'], 'governor: option --json takes no value'],
  ])('%j: one line in our words (no unbalanced quote), then the usage line', (args, line) => {
    const r = governor(args);
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toBe(line);
    expect(r.stderr).not.toContain("'");
  });
});

describe('configuration and environment errors are one line, exit 2', () => {
  it('a short API token names the entry, not the token', () => {
    const r = governor(['start', '--port', '0', '--data-dir', 'tokens'], {
      GOVERNOR_API_TOKENS: 'admin:short',
    });
    expect(r).toMatchObject({ code: 2 });
    oneLine(r.stderr);
    expect(r.stderr).toBe(
      'governor: GOVERNOR_API_TOKENS: entry 1 must be role:token with role admin|operator|auditor and a token of 16+ characters\n',
    );
  });

  it('a missing GOVERNOR_SIGNING_KEY_FILE names the file and the variable', () => {
    const r = governor(['start', '--port', '0', '--data-dir', 'nokey'], {
      GOVERNOR_SIGNING_KEY_FILE: 'missing.pem',
    });
    expect(r.code).toBe(2);
    oneLine(
      r.stderr
        .split('\n')
        .filter((l) => !l.startsWith('{'))
        .join('\n'),
    );
    expect(r.stderr).toContain(
      `governor: cannot open ${join(dir, 'missing.pem')} (GOVERNOR_SIGNING_KEY_FILE): no such file or folder`,
    );
  });

  it.each([
    [['keys', 'generate', '--out', '/proc/governor-x']],
    [['demo', '--data-dir', '/proc/governor-x']],
  ])('%j: a folder that cannot be made is one line, at once', (args) => {
    const r = governor(args);
    expect(r).toMatchObject({ code: 2, stdout: '' });
    oneLine(r.stderr);
    expect(r.stderr).toMatch(/^governor: cannot create \/proc\/governor-x: .*give a writable path\n$/);
  });

  it('a missing --keys file is one line', () => {
    const r = governor(['verify-chain', 'x.jsonl', '--keys', 'missing.json']);
    expect(r).toMatchObject({ code: 2, stderr: 'governor: cannot read keys file missing.json: ENOENT\n' });
  });

  const errno = (code: string, syscall: string, path: string) =>
    Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
  it.each([
    [
      'EROFS',
      errno('EROFS', 'mkdir', '/ro/x'),
      /^cannot mkdir \/ro\/x: read-only file system: .*--data-dir DIR.* \(EROFS\)$/,
    ],
    ['EACCES', errno('EACCES', 'open', '/d/x'), /^cannot open \/d\/x: permission denied: .* \(EACCES\)$/],
    [
      'ENOSPC',
      errno('ENOSPC', 'write', '/d/x'),
      /^cannot write \/d\/x: no space left on the device.* \(ENOSPC\)$/,
    ],
    [
      'ENOENT as the cause of another error',
      new Error('wrapped', { cause: errno('ENOENT', 'open', '/k.pem') }),
      /^cannot open \/k.pem: no such file/,
    ],
  ])('%s on a path is one line saying what to do', (_what, e, line) => {
    expect(environmentError(e)).toMatch(line);
  });

  it('an error without a path is a bug: no one-line report, the stack is kept', () => {
    expect(environmentError(new Error('boom'))).toBeNull();
    expect(environmentError(Object.assign(new Error('x'), { code: 'EROFS' }))).toBeNull();
  });
});

describe('the verify commands agree', () => {
  beforeAll(() => {
    expect(governor(['keys', 'generate', '--out', 'keys']).code).toBe(0);
    expect(
      governor([
        'receipts',
        'sample',
        '--chain',
        'tenants/acme',
        '--count',
        '3',
        '--keys',
        'keys',
        '--out',
        'chain.jsonl',
        '--archive-out',
        'chain.tar.gz',
      ]).code,
    ).toBe(0);
  });

  const R = ['verify-receipt', '--receipt-id', 'r-1', '--account-id', 'acme'];
  const MISSING = /^governor: missing --keys keys.json \(the public keys you trust/;

  it.each([
    ['verify-chain FILE', ['verify-chain', 'chain.jsonl'], MISSING],
    ['verify-chain --account-id', ['verify-chain', '--account-id', 'acme', '--data-dir', 'none'], MISSING],
    [
      'verify-archive',
      ['verify-archive', 'chain.tar.gz'],
      /^governor: missing --keys .* or --trust-archive-keys/,
    ],
    ['verify-receipt --from FILE', [...R, '--from', 'chain.jsonl'], MISSING],
    ['verify-receipt --from ARCHIVE', [...R, '--from', 'chain.tar.gz'], /or --trust-archive-keys/],
    ['verify-receipt (stored chain)', [...R, '--data-dir', 'none'], MISSING],
  ])('%s without --keys is a usage error, exit 2, saying what to pass', (_what, args, message) => {
    const r = governor(args);
    expect(r).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(message) });
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['verify-archive', ['verify-archive', 'chain.tar.gz']],
    ['verify-receipt', [...R, '--from', 'chain.tar.gz']],
  ])('%s: --keys and --trust-archive-keys together is a usage error', (_what, args) => {
    const r = governor([...args, '--keys', 'keys/keys.json', '--trust-archive-keys']);
    expect(r).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^governor: give --keys or --trust-archive-keys, not both/),
    });
  });

  it('--trust-archive-keys on a chain (not an archive) is a usage error', () => {
    expect(governor([...R, '--from', 'chain.jsonl', '--trust-archive-keys'])).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^governor: --trust-archive-keys is for archives/),
    });
    expect(governor(['verify-chain', 'chain.jsonl', '--trust-archive-keys']).code).toBe(2);
  });

  it('without a file, both read the stored chain of the embedded default: the same answer for the same chain', () => {
    const chain = governor([
      'verify-chain',
      '--account-id',
      'acme',
      '--data-dir',
      'empty',
      '--keys',
      'keys/keys.json',
    ]);
    const receipt = governor([...R, '--data-dir', 'empty', '--keys', 'keys/keys.json']);
    expect(chain).toMatchObject({ code: 2, stderr: expect.stringMatching(/^governor: no receipts for /) });
    expect(receipt).toMatchObject({ code: 2, stderr: expect.stringMatching(/^governor: no receipts for /) });
  });

  it('with --keys, or an archive and --trust-archive-keys, all three verify', () => {
    expect(governor(['verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json']).code).toBe(0);
    expect(governor(['verify-archive', 'chain.tar.gz', '--keys', 'keys/keys.json']).code).toBe(0);
    expect(governor(['verify-archive', 'chain.tar.gz', '--trust-archive-keys']).code).toBe(0);
    const id = (
      JSON.parse(
        (
          JSON.parse(readFileSync(join(dir, 'chain.jsonl'), 'utf8').split('\n')[1] as string) as {
            body: string;
          }
        ).body,
      ) as { receipt_id: string }
    ).receipt_id;
    const base = ['verify-receipt', '--receipt-id', id, '--account-id', 'acme'];
    expect(governor([...base, '--from', 'chain.jsonl', '--keys', 'keys/keys.json']).code).toBe(0);
    expect(governor([...base, '--from', 'chain.tar.gz', '--trust-archive-keys']).code).toBe(0);
  });
});
