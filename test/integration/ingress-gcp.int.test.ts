import { Readable } from 'node:stream';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyArchive } from '@governor/receipts';
import { gcpProject } from '../support/gcp-project';
import {
  edgeClient,
  entitlementEvent,
  startGovernorProcess,
  type StartedGovernor,
} from '../support/governor-start';
import { startWorker, type WorkerProcess } from '../support/worker-process';

// The HTTP edge end to end on the emulators: `governor start --backend gcp` (ingress and worker
// in one process), and the ingress alone in front of a worker process over governor.control.
jest.setTimeout(180_000);

function project() {
  return gcpProject('ingress', { GOVERNOR_DRAIN_TIMEOUT_MS: '2000', LOG_LEVEL: 'warn' });
}

const starter11 = async () => ({
  ...(JSON.parse(
    await readFile(join(__dirname, '..', '..', 'policies', 'starter', '1.0.0.json'), 'utf8'),
  ) as object),
  policy_version: '1.1.0',
});

describe('governor start --backend gcp', () => {
  let p: Awaited<ReturnType<typeof project>>;
  let governor: StartedGovernor | undefined;
  afterEach(async () => {
    await governor?.stop('SIGKILL');
    governor = undefined;
    await p.cleanup();
  });

  it('webhook → entitlement_active, policy push → every governor upgraded, signal → action receipt, cancel → decommission_complete with the archive in Cloud Storage and the topic deleted', async () => {
    p = await project();
    governor = await startGovernorProcess(p.dataDir, ['--backend', 'gcp'], p.env);
    const edge = edgeClient(governor.url, governor.secrets);

    for (const account of ['acme', 'globex']) {
      const created = await edge.webhook(entitlementEvent('entitlement.created', account));
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({
        operation: 'entitlement_active',
        receipt: { account_id: account },
      });
    }
    expect(await p.stores.bus.topicExists('acme')).toBe(true);

    const pushed = await edge.policy({ policy: await starter11() });
    expect(pushed.status).toBe(200);
    expect(pushed.body).toMatchObject({ policy_version: '1.1.0', governors_updated: 2, governors_failed: 0 });

    const accepted = await edge.post(
      '/v1/tenants/acme/signals',
      { action_kind: 'noop' },
      { 'x-correlation-id': 'corr-gcp-1' },
    );
    expect(accepted.status).toBe(202);
    await p.until('the action receipt', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'action_complete' && x.correlation_id === 'corr-gcp-1'),
    );

    const cancelled = await edge.webhook(
      entitlementEvent('entitlement.cancelled', 'acme', { cancellation_reason: 'test' }),
    );
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ operation: 'decommission_start' });
    const chain = await p.until('decommission_complete', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'decommission_complete'),
    );
    expect(chain.map((b) => b.operation)).toEqual([
      'entitlement_active',
      'policy_upgraded',
      'action_complete',
      'decommission_start',
      'decommission_complete',
    ]);
    const path = chain.at(-1)?.archive_gcs_path as string;
    const name = path.replace(/^gs:\/\/[^/]+\//, '');
    const archive = await p.stores.archive.get(name);
    expect(archive).not.toBeNull();
    const report = await verifyArchive(Readable.from([archive as Buffer]), { keyring: await p.keyring() });
    expect(report.ok).toBe(true);
    expect(await p.stores.bus.topicExists('acme')).toBe(false);
    expect((await p.verify('tenants/acme')).ok).toBe(true);
    expect((await p.verify('tenants/globex')).ok).toBe(true);
    expect(await governor.stop('SIGTERM')).toBe(0);
  });
});

describe('the ingress alone in front of a worker, over governor.control', () => {
  let p: Awaited<ReturnType<typeof project>>;
  let worker: WorkerProcess | undefined;
  let ingress: WorkerProcess | undefined;
  afterEach(async () => {
    await ingress?.stop('SIGKILL');
    await worker?.stop('SIGKILL');
    ingress = worker = undefined;
    await p.cleanup();
  });

  it('answers each webhook with the receipt the worker wrote, publishes signals, counts upgraded governors', async () => {
    p = await project();
    worker = startWorker({ ...p.env, LOG_LEVEL: 'info' });
    await worker.waitFor(/worker ready/);
    const secrets = {
      webhookSecrets: [`whsec_${Buffer.alloc(24, 4).toString('base64')}`],
      policySecrets: [`whsec_${Buffer.alloc(24, 5).toString('base64')}`],
      apiTokens: 'operator:operator-token-0123456789,auditor:auditor-token-0123456789',
      devFile: null,
    };
    ingress = startIngress({
      ...p.env,
      LOG_LEVEL: 'info',
      PORT: '0',
      HOST: '127.0.0.1',
      GOVERNOR_WEBHOOK_SECRETS: secrets.webhookSecrets.join(' '),
      GOVERNOR_POLICY_SECRETS: secrets.policySecrets.join(' '),
      GOVERNOR_API_TOKENS: secrets.apiTokens,
    });
    const ready = await ingress.waitFor(/ingress ready/);
    const edge = edgeClient(ready.url as string, secrets);

    const created = await edge.webhook(entitlementEvent('entitlement.created', 'acme'));
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({ operation: 'entitlement_active' });
    const replayedSameEntitlement = await edge.webhook(entitlementEvent('entitlement.created', 'acme'));
    expect(replayedSameEntitlement.body.receipt_id).toBe(created.body.receipt_id);

    expect(
      (
        await edge.post(
          '/v1/tenants/acme/signals',
          { action_kind: 'noop' },
          { 'x-correlation-id': 'corr-alone' },
        )
      ).status,
    ).toBe(202);
    await p.until('the action receipt', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'action_complete' && x.correlation_id === 'corr-alone'),
    );
    expect((await edge.post('/v1/tenants/nobody/signals', { action_kind: 'noop' })).status).toBe(404);

    const pushed = await edge.policy({ policy: await starter11() });
    expect(pushed.status).toBe(200);
    expect(pushed.body).toMatchObject({
      policy_version: '1.1.0',
      previous_version: '1.0.0',
      governors_updated: 1,
      governors_failed: 0,
    });
    const incompatible = await edge.policy({ policy: { ...(await starter11()), policy_version: '2.0.0' } });
    expect(incompatible.status).toBe(409);
    expect(incompatible.body).toMatchObject({ code: 'POLICY_INCOMPATIBLE' });

    const cancelled = await edge.webhook(entitlementEvent('entitlement.cancelled', 'acme'));
    expect(cancelled.status).toBe(202);
    await p.until('decommission_complete', 'tenants/acme', (b) =>
      b.some((x) => x.operation === 'decommission_complete'),
    );
    const tenant = await edge.get('/v1/tenants/acme');
    expect(tenant.body).toMatchObject({ state: 'decommissioned' });
    expect((await p.verify('tenants/acme')).ok).toBe(true);
    expect(await ingress.stop('SIGTERM')).toBe(0);
  });
});

/** services/ingress/src/main.ts as a process, with its JSON log lines collected like a worker's. */
function startIngress(env: Record<string, string>): WorkerProcess {
  return startWorker(env, join(__dirname, '..', '..', 'services', 'ingress', 'src', 'main.ts'));
}
