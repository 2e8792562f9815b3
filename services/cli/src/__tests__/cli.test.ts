import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// End-to-end through the built binary, as an auditor would run it. `tsc -b` runs before the
// tests in the suite (scripts/test.sh), so dist/ is current.
const MAIN = join(__dirname, '..', '..', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'governor-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function governor(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const receiptIdAt = (file: string, line: number) =>
  (
    JSON.parse(
      (JSON.parse(readFileSync(join(dir, file), 'utf8').split('\n')[line] as string) as { body: string })
        .body,
    ) as { receipt_id: string }
  ).receipt_id;

describe('governor CLI', () => {
  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
    expect(governor('keys', 'generate', '--out', 'keys').code).toBe(0);
    expect(
      governor(
        'receipts',
        'sample',
        '--chain',
        'tenants/acme',
        '--count',
        '500',
        '--keys',
        'keys',
        '--out',
        'chain.jsonl',
        '--checkpoint-out',
        'chain.note',
        '--archive-out',
        'chain.tar.gz',
      ).code,
    ).toBe(0);
  });

  it('keys generate writes a 0600 private key and a keyring, and never overwrites', () => {
    expect(statSync(join(dir, 'keys', 'signing-key.pem')).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(join(dir, 'keys', 'keys.json'), 'utf8'))).toMatchObject({
      keys: [{ not_after: null }],
    });
    const again = governor('keys', 'generate', '--out', 'keys');
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
  });

  it('verify-chain: 0 on a valid chain, 1 with one line per issue, --json for machines', () => {
    expect(
      governor('verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json', '--checkpoint', 'chain.note'),
    ).toMatchObject({ code: 0, stdout: expect.stringMatching(/^VALID: 500 receipts/) });
    const lines = readFileSync(join(dir, 'chain.jsonl'), 'utf8').split('\n');
    writeFileSync(join(dir, 'dropped.jsonl'), lines.filter((_, i) => i !== 42).join('\n'));
    const bad = governor('verify-chain', 'dropped.jsonl', '--keys', 'keys/keys.json');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/^SEQ_GAP seq=42 /m);
    const json = JSON.parse(
      governor('verify-chain', 'dropped.jsonl', '--keys', 'keys/keys.json', '--json').stdout,
    ) as { ok: boolean; issues: unknown[] };
    expect(json).toMatchObject({ ok: false, issues: [{ code: 'SEQ_GAP', seq: 42 }] });
  });

  it('every verify without a signed checkpoint warns that a cut after the last receipt cannot be detected (stderr; warnings in JSON); with one it does not', () => {
    const without = governor('verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json');
    expect(without.code).toBe(0);
    expect(without.stderr).toMatch(
      /^warning: no signed checkpoint was checked: a cut after seq \d+ cannot be detected; pass --checkpoint FILE\.note/m,
    );
    const json = JSON.parse(
      governor('verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json', '--json').stdout,
    ) as {
      warnings: string[];
    };
    expect(json.warnings).toHaveLength(1);
    const checked = governor(
      'verify-chain',
      'chain.jsonl',
      '--keys',
      'keys/keys.json',
      '--checkpoint',
      'chain.note',
    );
    expect(checked.stderr).not.toMatch(/warning/);
    expect(
      (
        JSON.parse(
          governor(
            'verify-chain',
            'chain.jsonl',
            '--keys',
            'keys/keys.json',
            '--checkpoint',
            'chain.note',
            '--json',
          ).stdout,
        ) as { warnings: string[] }
      ).warnings,
    ).toEqual([]);
  });

  it('verify-chain: an empty or receipt-less input is INVALID (EMPTY, exit 1) unless --allow-empty says it is expected', () => {
    writeFileSync(join(dir, 'empty.jsonl'), '');
    writeFileSync(join(dir, 'blank.jsonl'), '\n\n');
    for (const file of ['empty.jsonl', 'blank.jsonl']) {
      const empty = governor('verify-chain', file, '--keys', 'keys/keys.json');
      expect(empty.code).toBe(1);
      expect(empty.stdout).toMatch(/^INVALID: 0 receipts/m);
      expect(empty.stdout).toMatch(/^EMPTY seq=- no receipts/m);
    }
    expect(governor('verify-chain', 'empty.jsonl', '--keys', 'keys/keys.json', '--allow-empty').code).toBe(0);
    expect(
      JSON.parse(governor('verify-chain', 'empty.jsonl', '--keys', 'keys/keys.json', '--json').stdout),
    ).toMatchObject({ ok: false, count: 0, issues: [{ code: 'EMPTY' }] });
  });

  it('verify-archive: 0 for the archive, 1 against keys it was not signed with, a usage error without keys unless its own are trusted explicitly', () => {
    expect(governor('verify-archive', 'chain.tar.gz', '--keys', 'keys/keys.json').code).toBe(0);
    expect(governor('verify-archive', 'chain.tar.gz')).toMatchObject({
      code: 2,
      stdout: '',
      stderr: expect.stringMatching(/^governor: missing --keys keys.json .* or --trust-archive-keys/),
    });
    expect(governor('verify-archive', 'chain.tar.gz', '--trust-archive-keys').code).toBe(0);
    governor('keys', 'generate', '--out', 'other');
    const other = governor('verify-archive', 'chain.tar.gz', '--keys', 'other/keys.json');
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/UNKNOWN_KEY/);
  });

  it('verify-receipt proves one receipt from an export or an archive, and says when it is absent', () => {
    const id = receiptIdAt('chain.jsonl', 321);
    const fromExport = governor(
      'verify-receipt',
      '--receipt-id',
      id,
      '--account-id',
      'acme',
      '--from',
      'chain.jsonl',
      '--keys',
      'keys/keys.json',
      '--checkpoint',
      'chain.note',
      '--json',
    );
    expect(fromExport.code).toBe(0);
    expect(JSON.parse(fromExport.stdout)).toMatchObject({
      ok: true,
      seq: 321,
      inclusion: { tree_size: 500, audit_path: expect.any(Array) },
    });
    const A = ['--keys', 'keys/keys.json'];
    expect(
      governor('verify-receipt', '--receipt-id', id, '--account-id', 'acme', '--from', 'chain.tar.gz', ...A)
        .code,
    ).toBe(0);
    expect(
      governor(
        'verify-receipt',
        '--receipt-id',
        id,
        '--account-id',
        'acme',
        '--from',
        'chain.tar.gz',
        '--trust-archive-keys',
      ).code,
    ).toBe(0);
    expect(
      governor('verify-receipt', '--receipt-id', id, '--account-id', 'acme', '--from', 'chain.tar.gz'),
    ).toMatchObject({ code: 2, stderr: expect.stringMatching(/--trust-archive-keys/) });
    expect(
      governor(
        'verify-receipt',
        '--receipt-id',
        id,
        '--account-id',
        'globex',
        '--from',
        'chain.tar.gz',
        ...A,
      ),
    ).toMatchObject({ code: 1, stdout: expect.stringMatching(/ACCOUNT_MISMATCH/) });
    expect(
      governor(
        'verify-receipt',
        '--receipt-id',
        'nope',
        '--account-id',
        'acme',
        '--from',
        'chain.tar.gz',
        ...A,
      ),
    ).toMatchObject({ code: 1, stdout: expect.stringMatching(/NOT_FOUND/) });
  });

  it('verify-receipt proves the receipt itself, not whatever stands at its seq', () => {
    // A validly signed seq 10 of another history of the same chain, appended after the genuine
    // export: it must not borrow the genuine seq 10's audit path.
    expect(
      governor(
        'receipts',
        'sample',
        '--chain',
        'tenants/acme',
        '--count',
        '11',
        '--keys',
        'keys',
        '--out',
        'other.jsonl',
      ).code,
    ).toBe(0);
    const genuine = readFileSync(join(dir, 'chain.jsonl'), 'utf8').trimEnd().split('\n');
    const forged = readFileSync(join(dir, 'other.jsonl'), 'utf8').trimEnd().split('\n')[10] as string;
    writeFileSync(join(dir, 'forked.jsonl'), [...genuine, forged].join('\n') + '\n');
    const id = (JSON.parse((JSON.parse(forged) as { body: string }).body) as { receipt_id: string })
      .receipt_id;
    const r = governor(
      'verify-receipt',
      '--receipt-id',
      id,
      '--account-id',
      'acme',
      '--from',
      'forked.jsonl',
      '--keys',
      'keys/keys.json',
      '--checkpoint',
      'chain.note',
    );
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^INCLUSION_FAILED seq=10 /m);
    expect(r.stdout).toMatch(/^SEQ_GAP seq=10 the receipt claims seq 10 but stands at position 500/m);
  });

  it('--mode checkpoint still checks every receipt no checkpoint covers', () => {
    const lines = readFileSync(join(dir, 'chain.jsonl'), 'utf8').trimEnd().split('\n');
    const zeroed = lines.map((l) =>
      JSON.stringify({ ...(JSON.parse(l) as object), signature: Buffer.alloc(64).toString('base64') }),
    );
    writeFileSync(join(dir, 'zeroed.jsonl'), zeroed.join('\n') + '\n');
    const withoutCheckpoint = governor(
      'verify-chain',
      'zeroed.jsonl',
      '--keys',
      'keys/keys.json',
      '--mode',
      'checkpoint',
    );
    expect(withoutCheckpoint.code).toBe(1);
    expect(withoutCheckpoint.stdout).toMatch(/^SIGNATURE_INVALID seq=0 /m);
    expect(
      governor(
        'verify-chain',
        'chain.jsonl',
        '--keys',
        'keys/keys.json',
        '--mode',
        'checkpoint',
        '--checkpoint',
        'chain.note',
      ).code,
    ).toBe(0);
  });

  it('a truncated archive or a directory is a one-line I/O error, and nothing hangs', () => {
    const whole = readFileSync(join(dir, 'chain.tar.gz'));
    writeFileSync(join(dir, 'cut.tar.gz'), whole.subarray(0, Math.floor(whole.length / 2)));
    const cut = governor('verify-archive', 'cut.tar.gz', '--keys', 'keys/keys.json');
    expect(cut).toMatchObject({ code: 2, stderr: expect.stringMatching(/^governor: cannot read archive/) });
    const receipt = governor(
      'verify-receipt',
      '--receipt-id',
      'x',
      '--account-id',
      'acme',
      '--from',
      'cut.tar.gz',
      '--keys',
      'keys/keys.json',
    );
    expect(receipt.code).toBe(2);
    expect(receipt.stderr).not.toMatch(/\n\s+at /);
    const folder = governor('verify-chain', 'keys', '--keys', 'keys/keys.json');
    expect(folder).toMatchObject({ code: 2, stderr: expect.stringMatching(/EISDIR/) });
  });

  it.each([
    [['verify-chain'], /expected exactly one FILE/],
    [['verify-chain', 'missing.jsonl', '--keys', 'keys/keys.json'], /cannot read missing.jsonl: ENOENT/],
    [
      ['verify-chain', 'chain.jsonl', '--keys', 'keys/keys.json', '--bogus'],
      /^governor: unknown option --bogus\nusage: governor verify-chain /,
    ],
    [['verify-chain', 'chain.jsonl', '--keys', 'chain.note'], /keys file is not JSON/],
    [
      ['receipts', 'sample', '--chain', 'tenants/Bad_Id', '--count', '1', '--keys', 'keys', '--out', 'x'],
      /--chain must be/,
    ],
    [
      ['receipts', 'sample', '--chain', 'tenants/acme', '--count', '0', '--keys', 'keys', '--out', 'x'],
      /--count must be a positive integer/,
    ],
    [
      [
        'verify-receipt',
        '--receipt-id',
        'x',
        '--account-id',
        'UPPER',
        '--from',
        'chain.jsonl',
        '--keys',
        'keys/keys.json',
      ],
      /not a valid account id/,
    ],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('usage and I/O errors exit 2 with one line: %j', (args, message) => {
    const r = governor(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('demo runs every runbook on the embedded default and verifies every chain and archive', () => {
    const r = governor('demo', '--data-dir', 'demo', '--json');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      runbooks: { id: number; receipts: number; verified: boolean }[];
      chains: { chain: string; ok: boolean }[];
      archives: { ok: boolean }[];
    };
    expect(report.ok).toBe(true);
    expect(report.runbooks.map((rb) => [rb.id, rb.verified, rb.receipts > 0])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((id) => [id, true, true]),
    );
    expect(report.archives).toEqual([expect.objectContaining({ ok: true })]);
    // The exports it wrote verify with the CLI itself, and export-receipts reads the same ledger.
    expect(
      governor('verify-chain', 'demo/exports/tenants/globex.jsonl', '--keys', 'demo/keys/keys.json').code,
    ).toBe(0);
    const exported = governor('export-receipts', '--account-id', 'globex', '--data-dir', 'demo');
    expect(exported.stdout).toBe(readFileSync(join(dir, 'demo/exports/tenants/globex.jsonl'), 'utf8'));
    const asJson = JSON.parse(
      governor('export-receipts', '--account-id', 'globex', '--data-dir', 'demo', '--format', 'json').stdout,
    ) as unknown[];
    expect(asJson).toHaveLength(exported.stdout.trim().split('\n').length);
    expect(governor('export-receipts', '--account-id', 'nobody', '--data-dir', 'demo')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/no receipts for nobody/),
    });
  });

  it('demo --signals needs --backend gcp, and takes pubsub or kafka: one line, exit 2, nothing made', () => {
    for (const [args, message] of [
      [['demo', '--signals', 'kafka'], /^governor: --signals kafka needs --backend gcp: /],
      [
        ['demo', '--backend', 'local', '--signals', 'pubsub'],
        /^governor: --signals pubsub needs --backend gcp: /,
      ],
      [
        ['demo', '--backend', 'gcp', '--signals', 'sqs'],
        /^governor: --signals must be pubsub or kafka, got "sqs"/,
      ],
    ] as const) {
      const r = governor(...args, '--data-dir', 'demo-signals');
      expect(r).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(message) });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(existsSync(join(dir, 'demo-signals'))).toBe(false);
    expect(governor('demo', '--help').stdout).toMatch(/--signals kafka \(with --backend gcp\)/);
  });

  it('--help explains every command', () => {
    const help = governor('--help');
    expect(help.code).toBe(0);
    for (const cmd of [
      'keys generate',
      'receipts sample',
      'verify-chain',
      'verify-archive',
      'verify-receipt',
    ])
      expect(help.stdout).toContain(cmd);
    expect(governor('verify-chain', '--help').stdout).toMatch(/Exit 0 valid, 1 invalid/);
  });
});
