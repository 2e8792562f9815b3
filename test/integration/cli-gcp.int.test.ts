import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Kafka, logLevel } from 'kafkajs';
import { backends } from '../support/backends';

// The built binary, as a user runs it (`pnpm build` first; scripts/test.sh builds before testing).
const MAIN = join(__dirname, '..', '..', 'services', 'cli', 'dist', 'main.js');
const dir = mkdtempSync(join(tmpdir(), 'governor-cli-gcp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// The emulators' addresses, passed explicitly: test/support/backends took STORAGE_EMULATOR_HOST
// out of this process's environment. GOVERNOR_* are dropped so the CLI's defaults apply.
const base: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith('GOVERNOR_') && !k.endsWith('_EMULATOR_HOST') && k !== 'GOOGLE_CLOUD_PROJECT',
  ),
);
const emulators = {
  PUBSUB_EMULATOR_HOST: backends.pubsub,
  FIRESTORE_EMULATOR_HOST: backends.firestore,
  STORAGE_EMULATOR_HOST: backends.gcs,
};

function governor(
  env: NodeJS.ProcessEnv,
  ...args: string[]
): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [MAIN, ...args], {
    cwd: dir,
    env: { ...base, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface DemoJson {
  ok: boolean;
  signals: 'pubsub' | 'kafka';
  kafka?: { brokers: string[]; namespace: string };
  project: string;
  bucket: string;
  keys: string;
  runbooks: { id: number; receipts: number; verified: boolean }[];
  chains: { chain: string; ok: boolean; count: number; witnessed?: number | null }[];
  archives: { path: string; ok: boolean }[];
}

const receiptIdAt = (file: string, line: number) =>
  (
    JSON.parse(
      (JSON.parse(readFileSync(file, 'utf8').split('\n')[line] as string) as { body: string }).body,
    ) as { receipt_id: string }
  ).receipt_id;

describe('governor CLI --backend gcp on the emulators', () => {
  let demo: DemoJson;
  let project: NodeJS.ProcessEnv;
  const data = join(dir, 'demo');
  const keys = join(data, 'keys', 'keys.json');

  beforeAll(() => {
    if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: run \`pnpm build\` first`);
  });

  it('demo --backend gcp runs every runbook and verifies every chain from Firestore and the archive from GCS', () => {
    const r = governor(emulators, 'demo', '--backend', 'gcp', '--data-dir', data, '--json');
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    demo = JSON.parse(r.stdout) as DemoJson;
    expect(demo.ok).toBe(true);
    expect(demo.project).toMatch(/^governor-demo-\d{8}-\d{6}-[0-9a-f]{4}$/);
    expect(demo.runbooks.map((rb) => [rb.id, rb.verified, rb.receipts > 0])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((id) => [id, true, true]),
    );
    expect(demo.chains.every((c) => c.ok)).toBe(true);
    // The cancelled tenant's checkpoint was witnessed in Cloud Storage.
    expect(demo.chains.find((c) => c.chain === 'tenants/acme')?.witnessed).toEqual(expect.any(Number));
    expect(demo.archives).toEqual([
      expect.objectContaining({ ok: true, path: expect.stringMatching(`^gs://${demo.bucket}/acme/`) }),
    ]);
    expect(r.stderr).toContain(`export GOVERNOR_PROJECT=${demo.project}`);
    project = { ...emulators, GOVERNOR_PROJECT: demo.project, GOVERNOR_BUCKET: demo.bucket };
  }, 180_000);

  it('demo --backend gcp --signals kafka runs every runbook with the signals on Kafka and verifies every chain', async () => {
    const r = governor(
      { ...emulators, KAFKA_BROKERS: backends.kafka.join(',') },
      'demo',
      '--backend',
      'gcp',
      '--signals',
      'kafka',
      '--data-dir',
      join(dir, 'demo-kafka'),
      '--json',
    );
    expect({ code: r.code, stderr: r.code === 0 ? '' : r.stderr }).toEqual({ code: 0, stderr: '' });
    const kafkaDemo = JSON.parse(r.stdout) as DemoJson;
    expect(kafkaDemo).toMatchObject({
      ok: true,
      signals: 'kafka',
      kafka: { brokers: [...backends.kafka], namespace: kafkaDemo.project },
    });
    expect(kafkaDemo.runbooks.map((rb) => [rb.id, rb.verified, rb.receipts > 0])).toEqual(
      [1, 2, 3, 4, 5, 6, 7].map((id) => [id, true, true]),
    );
    expect(kafkaDemo.chains.map((c) => c.chain).sort()).toEqual([
      'tenants/acme',
      'tenants/globex',
      'tenants/initech',
      'tenants/umbrella',
      'workers/demo-worker',
    ]);
    expect(kafkaDemo.chains.every((c) => c.ok)).toBe(true);
    expect(kafkaDemo.archives).toEqual([
      expect.objectContaining({ ok: true, path: expect.stringMatching(`^gs://${kafkaDemo.bucket}/acme/`) }),
    ]);
    expect(r.stderr).toContain(`topics ${kafkaDemo.project}.tenants.{account_id}.signals`);

    // The signals travelled on Kafka, in the run's namespace (acme's topic went with its
    // cancellation), and not one tenant topic was made on Pub/Sub.
    const namespace = kafkaDemo.project;
    const admin = new Kafka({ brokers: [...backends.kafka], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((t) => t.startsWith(`${namespace}.`)).sort();
      expect(topics).toEqual(['globex', 'initech'].map((t) => `${namespace}.tenants.${t}.signals`));
      const [globex] = await admin.fetchTopicOffsets(`${namespace}.tenants.globex.signals`);
      // 8 actions and 1 scale signal were published for globex.
      expect(Number(globex?.high)).toBe(9);
      const [initech] = await admin.fetchTopicOffsets(`${namespace}.tenants.initech.signals`);
      expect(Number(initech?.high)).toBe(1);
      // The demo leaves its topics (like its project); this test does not.
      await admin.deleteTopics({ topics });
      const { groups } = await admin.listGroups();
      const mine = groups.map((g) => g.groupId).filter((g) => g.startsWith(`${namespace}.`));
      if (mine.length > 0) await admin.deleteGroups(mine).catch(() => undefined);
    } finally {
      await admin.disconnect();
    }
    const pubsub = new PubSub({ projectId: namespace, apiEndpoint: backends.pubsub, emulatorMode: true });
    try {
      const [pubsubTopics] = await pubsub.getTopics();
      expect(pubsubTopics.map((t) => t.name).filter((n) => n.includes('/topics/tenants.'))).toEqual([]);
    } finally {
      await pubsub.close();
    }

    // No broker there: one line saying what to do, exit 2.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = governor(
      { ...emulators, KAFKA_BROKERS: `127.0.0.1:${port}` },
      'demo',
      '--backend',
      'gcp',
      '--signals',
      'kafka',
    );
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(
      /^governor: the Kafka broker at 127\.0\.0\.1:\d+ \(KAFKA_BROKERS\) is not reachable \(ECONNREFUSED\): start it with `bash infra\/local\/backends\.sh up kafka`/,
    );
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
  }, 180_000);

  it('export-receipts reads the tenant chain from Firestore, as the demo exported it', () => {
    const exported = readFileSync(join(data, 'exports', 'tenants', 'globex.jsonl'), 'utf8');
    const toStdout = governor(project, 'export-receipts', '--backend', 'gcp', '--account-id', 'globex');
    expect(toStdout).toMatchObject({ code: 0, stdout: exported });
    const out = join(dir, 'globex.jsonl');
    expect(
      governor(project, 'export-receipts', '--backend', 'gcp', '--account-id', 'globex', '--out', out).code,
    ).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(exported);
    expect(governor(project, 'export-receipts', '--backend', 'gcp', '--account-id', 'nobody')).toMatchObject({
      code: 2,
      stderr: expect.stringMatching(/^governor: no receipts for nobody in Firestore/),
    });
  });

  it('verify-chain checks the chain from Firestore against the checkpoint witnessed in Cloud Storage', () => {
    const acme = governor(
      project,
      'verify-chain',
      '--backend',
      'gcp',
      '--account-id',
      'acme',
      '--keys',
      keys,
    );
    const size = demo.chains.find((c) => c.chain === 'tenants/acme')?.witnessed as number;
    expect(acme.code).toBe(0);
    expect(acme.stdout).toContain(
      `checkpoint: size ${size} witnessed in gs://${demo.bucket}/checkpoints/tenants/acme/${size}.note`,
    );
    expect(acme.stdout).toMatch(/^VALID: \d+ receipts of tenants\/acme .*1 checkpoint\(s\) verified/m);

    // No witnessed checkpoint: said so, and the chain is verified all the same.
    const globex = governor(
      project,
      'verify-chain',
      '--backend',
      'gcp',
      '--account-id',
      'globex',
      '--keys',
      keys,
    );
    expect(globex.code).toBe(0);
    expect(globex.stdout).toMatch(/^checkpoint: none witnessed for tenants\/globex in gs:\/\//m);
    expect(globex.stderr).toMatch(
      /^warning: no signed checkpoint was checked: a cut after seq \d+ cannot be detected; pass --checkpoint/m,
    );
    expect(globex.stdout).toMatch(/^VALID: \d+ receipts of tenants\/globex/m);

    const worker = governor(
      project,
      'verify-chain',
      '--backend',
      'gcp',
      '--chain',
      'workers/demo-worker',
      '--keys',
      keys,
      '--json',
    );
    expect(worker.code).toBe(0);
    expect(JSON.parse(worker.stdout)).toMatchObject({
      ok: true,
      chain: 'workers/demo-worker',
      source: { backend: 'gcp', checkpoints: [{ from: 'witness', size: null }, { from: 'ledger' }] },
    });

    // Keys the chain was not signed with: invalid, not an error.
    expect(governor(base, 'keys', 'generate', '--out', 'other').code).toBe(0);
    const other = governor(
      project,
      'verify-chain',
      '--backend',
      'gcp',
      '--account-id',
      'acme',
      '--keys',
      join(dir, 'other', 'keys.json'),
    );
    expect(other.code).toBe(1);
    expect(other.stdout).toMatch(/^UNKNOWN_KEY seq=0 /m);
  });

  it('verify-receipt proves a receipt read from Firestore against the witnessed checkpoint', () => {
    const id = receiptIdAt(join(data, 'exports', 'tenants', 'acme.jsonl'), 1);
    const r = governor(
      project,
      'verify-receipt',
      '--backend',
      'gcp',
      '--account-id',
      'acme',
      '--receipt-id',
      id,
      '--keys',
      keys,
      '--json',
    );
    expect(r.code).toBe(0);
    const size = demo.chains.find((c) => c.chain === 'tenants/acme')?.witnessed as number;
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: true,
      seq: 1,
      inclusion: { tree_size: size, audit_path: expect.any(Array) },
      checkpoint_source: `witnessed in gs://${demo.bucket}/checkpoints/tenants/acme/${size}.note`,
    });
    const missing = governor(
      project,
      'verify-receipt',
      '--backend',
      'gcp',
      '--account-id',
      'acme',
      '--receipt-id',
      'no-such-receipt',
      '--keys',
      keys,
    );
    expect(missing).toMatchObject({ code: 1, stdout: expect.stringMatching(/^NOT_FOUND /m) });
  });

  it('a missing configuration or an unreachable emulator exits 2 with one line saying what to do', async () => {
    const unset = governor({}, 'verify-chain', '--backend', 'gcp', '--account-id', 'acme', '--keys', keys);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/^governor: --backend gcp: GOVERNOR_PROJECT is not set: .*backends\.sh env/);
    expect(unset.stderr.trim().split('\n')).toHaveLength(1);

    const demoOnCloud = governor(
      { GOVERNOR_PROJECT: 'p-1', GOVERNOR_BUCKET: 'b-1' },
      'demo',
      '--backend',
      'gcp',
    );
    expect(demoOnCloud.code).toBe(2);
    expect(demoOnCloud.stderr).toMatch(/^governor: demo --backend gcp runs on the emulators only/);

    // A port nothing listens on any more.
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const down = governor(
      { ...project, FIRESTORE_EMULATOR_HOST: `127.0.0.1:${port}` },
      'export-receipts',
      '--backend',
      'gcp',
      '--account-id',
      'acme',
    );
    expect(down.code).toBe(2);
    expect(down.stderr).toMatch(
      /^governor: the Firestore emulator at 127\.0\.0\.1:\d+ \(FIRESTORE_EMULATOR_HOST\) is not reachable \(ECONNREFUSED\): start it with `bash infra\/local\/backends\.sh up firestore`/,
    );
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a second demo run on the same emulators (same data dir and key) passes in a project of its own', () => {
    const r = governor(emulators, 'demo', '--backend', 'gcp', '--data-dir', data, '--json');
    expect(r.code).toBe(0);
    const again = JSON.parse(r.stdout) as DemoJson;
    expect(again.ok).toBe(true);
    expect(again.project).not.toBe(demo.project);
  }, 180_000);
});
