import { Readable } from 'node:stream';
import { MemoryLedger } from '@governor/governor/testing';
import { OPERATIONS, tenantChain } from '@governor/contracts';
import { ChainWriter, systemClock } from '@governor/governor';
import { SigningKey, parseCheckpoint, sampleFields, verifyArchive, verifyLines } from '@governor/receipts';
import { archiveNameOf, latestArchiveReceipt } from '../routes/archive-lookup';
import { entitlement, ingressFixture, signedRequest } from './fixture';
import { bearer, expectEnvelope, waitFor, type Role } from './helpers';

/** The shared fixture (the archive store given to the ingress too, or not with `archive: false`). */
const auditorFixture = (options: { archive?: boolean } = {}) => ingressFixture(options);
type AuditorFixture = Awaited<ReturnType<typeof auditorFixture>>;

async function bodies(f: AuditorFixture, accountId: string): Promise<Record<string, unknown>[]> {
  const out: Record<string, unknown>[] = [];
  for await (const r of f.ledger.read(tenantChain(accountId)))
    out.push(JSON.parse(r.body) as Record<string, unknown>);
  return out;
}

async function provision(
  f: AuditorFixture,
  accountId: string,
  entitlementId = `ent-${accountId}`,
): Promise<void> {
  const res = await f.app.inject(
    signedRequest(
      '/v1/webhooks/marketplace',
      entitlement('entitlement.created', accountId, { entitlement_id: entitlementId }),
    ),
  );
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
}

/** Cancels `accountId` and waits for its `n`th decommission_complete receipt. */
async function decommission(
  f: AuditorFixture,
  accountId: string,
  n = 1,
  entitlementId = `ent-${accountId}`,
): Promise<void> {
  const res = await f.app.inject(
    signedRequest(
      '/v1/webhooks/marketplace',
      entitlement('entitlement.cancelled', accountId, { entitlement_id: entitlementId }),
    ),
  );
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 202 });
  await waitFor(
    `decommission_complete #${n}`,
    async () =>
      (await bodies(f, accountId)).filter((b) => b.operation === 'decommission_complete').length >= n,
  );
}

describe('auditor routes: latest checkpoint and archive', () => {
  const opened: AuditorFixture[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((f) => f.close()));
  });
  async function open(options: { archive?: boolean } = {}): Promise<AuditorFixture> {
    const f = await auditorFixture(options);
    opened.push(f);
    return f;
  }
  const get = (f: AuditorFixture, url: string, role: Role | null = 'auditor') =>
    f.app.inject({ method: 'GET', url, headers: role === null ? {} : bearer(role) });

  describe('GET /v1/tenants/{account_id}/checkpoint', () => {
    it('is 404 NOT_FOUND (envelope) while the chain has no checkpoint', async () => {
      const f = await open();
      await provision(f, 'acme');
      const env = expectEnvelope(await get(f, '/v1/tenants/acme/checkpoint'), 404, 'NOT_FOUND');
      expect(env.message).toMatch(/^no signed checkpoint of tenants\/acme yet/);
    });

    it('answers the latest signed note as text; with the export it proves the tail, and a cut after its size is TRUNCATED', async () => {
      const f = await open();
      await provision(f, 'acme');
      await decommission(f, 'acme');
      const res = await get(f, '/v1/tenants/acme/checkpoint');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
      expect(res.body).toBe(await f.ledger.latestCheckpoint(tenantChain('acme')));
      const size = parseCheckpoint(res.body).checkpoint.size;
      expect(res.headers['x-governor-checkpoint-size']).toBe(String(size));

      const exported = (await get(f, '/v1/tenants/acme/export')).body.trimEnd().split('\n');
      // A last checkpoint is taken after decommission_complete: it covers the whole chain.
      expect(exported).toHaveLength(size);
      const whole = await verifyLines(exported, { keyring: f.keyring, checkpoints: [res.body] });
      expect(whole).toMatchObject({ ok: true, checkpoints_verified: 1 });
      const cut = await verifyLines(exported.slice(0, size - 1), {
        keyring: f.keyring,
        checkpoints: [res.body],
      });
      expect(cut).toMatchObject({ ok: false, issues: [{ code: 'TRUNCATED', seq: size - 1 }] });
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      const f = await open();
      expect(expectEnvelope(await get(f, '/v1/tenants/nobody/checkpoint'), 404, 'NOT_FOUND').message).toBe(
        'tenant nobody is not known',
      );
    });

    it.each<[Role | null, number, string]>([
      [null, 401, 'UNAUTHENTICATED'],
      ['operator', 403, 'FORBIDDEN'],
    ])('like the export: role %s is %i %s', async (role, status, code) => {
      const f = await open();
      expectEnvelope(await get(f, '/v1/tenants/acme/checkpoint', role), status, code);
    });

    it('the admin role may read it too', async () => {
      const f = await open();
      await provision(f, 'acme');
      await decommission(f, 'acme');
      expect((await get(f, '/v1/tenants/acme/checkpoint', 'admin')).statusCode).toBe(200);
    });
  });

  describe('GET /v1/tenants/{account_id}/archive', () => {
    it('is 404 NOT_FOUND (envelope) for a tenant never decommissioned', async () => {
      const f = await open();
      await provision(f, 'acme');
      const env = expectEnvelope(await get(f, '/v1/tenants/acme/archive'), 404, 'NOT_FOUND');
      expect(env.message).toMatch(/^no archive of acme: its chain has no decommission_complete receipt/);
    });

    it('answers the archive the decommission_complete receipt names, as gzip bytes that verify', async () => {
      const f = await open();
      await provision(f, 'acme');
      await decommission(f, 'acme');
      const complete = (await bodies(f, 'acme')).find((b) => b.operation === 'decommission_complete') as {
        seq: number;
        archive_gcs_path: string;
        archive_size_bytes: number;
      };
      const res = await get(f, '/v1/tenants/acme/archive');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/gzip');
      const name = complete.archive_gcs_path.replace(/^memory:\/\//, '');
      expect(res.headers['x-governor-archive']).toBe(name);
      expect(res.headers['x-governor-receipt-seq']).toBe(String(complete.seq));
      expect(res.headers['content-disposition']).toBe(`attachment; filename="${name.replace('/', '-')}"`);
      expect(res.rawPayload.equals(f.archive.objects.get(name) as Buffer)).toBe(true);
      expect(res.rawPayload.length).toBe(complete.archive_size_bytes);
      expect(await verifyArchive(Readable.from([res.rawPayload]), { keyring: f.keyring })).toMatchObject({
        ok: true,
      });
    });

    it('a tenant provisioned and decommissioned again gets its latest archive', async () => {
      const f = await open();
      await provision(f, 'acme', 'ent-1');
      await decommission(f, 'acme', 1, 'ent-1');
      // Provisioned again on the runtime itself: through the HTTP edge a new entitlement for a
      // decommissioned tenant is refused until a restart (RuntimeGateway still finds its governor).
      await f.runtime.provision({
        entitlement_id: 'ent-2',
        account_id: 'acme',
        sku_id: 'governor-starter',
        plan_type: 'starter',
        region: 'us-central1',
      });
      await (
        await f.runtime.cancel('acme', 'customer_request')
      )?.done;
      const completes = (await bodies(f, 'acme')).filter((b) => b.operation === 'decommission_complete');
      expect(completes).toHaveLength(2);
      const latest = String(completes[1]?.archive_gcs_path).replace(/^memory:\/\//, '');
      expect(f.archive.objects.size).toBe(2);
      const res = await get(f, '/v1/tenants/acme/archive');
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-governor-archive']).toBe(latest);
      expect(res.headers['x-governor-receipt-seq']).toBe(String(completes[1]?.seq));
      expect(res.rawPayload.equals(f.archive.objects.get(latest) as Buffer)).toBe(true);
    });

    it('an archive the receipt names but the store lacks is 404 NOT_FOUND naming it', async () => {
      const f = await open();
      await provision(f, 'acme');
      await decommission(f, 'acme');
      const [name] = [...f.archive.objects.keys()];
      f.archive.objects.clear();
      const env = expectEnvelope(await get(f, '/v1/tenants/acme/archive'), 404, 'NOT_FOUND');
      expect(env.details).toMatchObject({ archive: name });
    });

    it('bytes that are not the size the signed receipt says are refused (500), never served', async () => {
      const f = await open();
      await provision(f, 'acme');
      await decommission(f, 'acme');
      const [name] = [...f.archive.objects.keys()] as [string];
      f.archive.objects.set(name, Buffer.concat([f.archive.objects.get(name) as Buffer, Buffer.from('x')]));
      const env = expectEnvelope(await get(f, '/v1/tenants/acme/archive'), 500, 'INTERNAL');
      expect(env.message).toMatch(/it is not the archive that was written$/);
    });

    it('an unknown tenant is 404 NOT_FOUND', async () => {
      const f = await open();
      expectEnvelope(await get(f, '/v1/tenants/nobody/archive'), 404, 'NOT_FOUND');
    });

    it.each<[Role | null, number, string]>([
      [null, 401, 'UNAUTHENTICATED'],
      ['operator', 403, 'FORBIDDEN'],
    ])('like the export: role %s is %i %s', async (role, status, code) => {
      const f = await open();
      expectEnvelope(await get(f, '/v1/tenants/acme/archive', role), status, code);
    });

    it('an ingress without an archive store is 503 UNAVAILABLE', async () => {
      const f = await open({ archive: false });
      await provision(f, 'acme');
      expectEnvelope(await get(f, '/v1/tenants/acme/archive'), 503, 'UNAVAILABLE');
    });
  });
});

describe('archive lookup', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 5));
  const DECOMMISSIONED = OPERATIONS.indexOf('decommission_complete');

  it('finds the latest decommission_complete from the head backwards, windows of receipts after it', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, systemClock);
    const n = OPERATIONS.length;
    // Two decommissions near the start, then 600 receipts of every other operation.
    const targets = [DECOMMISSIONED, DECOMMISSIONED + 3 * n];
    for (let i = 0; i < 700; i++)
      writer.emit(sampleFields('acme', i % n === DECOMMISSIONED && !targets.includes(i) ? i + 1 : i));
    await writer.flush();
    expect(await latestArchiveReceipt(ledger, 'tenants/acme')).toMatchObject({
      seq: targets[1],
      operation: 'decommission_complete',
    });
    expect(await latestArchiveReceipt(new MemoryLedger(), 'tenants/acme')).toBeNull();
  });

  it.each([
    ['gs://bucket/acme/2026-11-23-42.tar.gz', 'acme/2026-11-23-42.tar.gz'],
    ['gs://bucket/prefix/acme/2026-11-23.tar.gz', 'acme/2026-11-23.tar.gz'],
    ['/data/.governor/archive/acme/2026-11-23-7.tar.gz', 'acme/2026-11-23-7.tar.gz'],
    ['memory://acme/2026-11-23-7.tar.gz', 'acme/2026-11-23-7.tar.gz'],
    ['gs://bucket/globex/2026-11-23-7.tar.gz', null],
    ['gs://bucket/acme/../x.tar.gz', null],
    ['acme/.hidden.tar.gz', null],
    ['gs://bucket/acme/2026-11-23-7.zip', null],
    ['2026-11-23-7.tar.gz', null],
  ])('archiveNameOf(%s) is %s', (location, name) => {
    expect(archiveNameOf(location, 'acme')).toBe(name);
  });
});
