import { Readable } from 'node:stream';
import { AccountId, tenantChain } from '@governor/contracts';
import { Keyring, parseCheckpoint } from '@governor/receipts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize, type Role } from '../auth';
import { parseBody, parseJson, rawBody, type IngressContext } from '../context';
import { IngressError } from '../errors';
import { exportLine, lookupReceipt } from '../receipt-lookup';
import { archiveNameOf, latestArchiveReceipt } from './archive-lookup';

const SignalBody = z
  .strictObject({
    type: z.enum(['action', 'scale']).default('action'),
    action_kind: z.string().min(1).max(128).optional(),
    params: z.record(z.string(), z.unknown()).optional(),
    concurrency: z.number().int().min(1).max(10_000).optional(),
  })
  .refine((s) => s.type !== 'action' || s.action_kind !== undefined, {
    message: 'an action signal needs action_kind',
    path: ['action_kind'],
  })
  .refine((s) => s.type !== 'scale' || s.concurrency !== undefined, {
    message: 'a scale signal needs concurrency',
    path: ['concurrency'],
  });

/** A query parameter that must be a plain decimal integer ("", "0x10", "1e3", "+5" are not). */
const decimal = (min: number, max: number) =>
  z
    .string()
    .regex(/^-?\d{1,16}$/, 'must be a decimal integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const ReceiptPage = z.strictObject({
  after_seq: decimal(-1, Number.MAX_SAFE_INTEGER).default(-1),
  limit: decimal(1, 1000).default(100),
});

const READERS: readonly Role[] = ['operator', 'auditor'];

/** The account id from the path, checked like everywhere else (400 when it cannot be one). */
function accountOf(request: FastifyRequest): string {
  const raw = (request.params as { account_id?: string }).account_id ?? '';
  const parsed = AccountId.safeParse(raw);
  if (!parsed.success)
    throw new IngressError(400, 'BAD_REQUEST', parsed.error.issues[0]?.message ?? 'invalid account_id', {
      account_id: raw.slice(0, 80),
    });
  return parsed.data;
}

/** The operator and auditor API: signals in, tenants and receipts out, keys for everyone. */
export function tenantRoutes(app: FastifyInstance, ctx: IngressContext): void {
  const allow = (request: FastifyRequest, roles: readonly Role[]) =>
    authorize(ctx.tokens, request.headers.authorization, roles);

  app.post('/v1/tenants/:account_id/signals', async (request, reply) => {
    allow(request, ['operator']);
    const accountId = accountOf(request);
    const body = parseBody(SignalBody, parseJson(rawBody(request)), 'signal');
    const { signal_id } = await ctx.gateway.submitSignal(
      accountId,
      {
        type: body.type,
        ...(body.action_kind !== undefined ? { action_kind: body.action_kind } : {}),
        ...(body.params !== undefined ? { params: body.params } : {}),
        ...(body.concurrency !== undefined ? { concurrency: body.concurrency } : {}),
      },
      request.id,
    );
    ctx.metrics.signalsAccepted.inc();
    return reply.code(202).send({ signal_id, account_id: accountId, correlation_id: request.id });
  });

  app.get('/v1/tenants', async (request) => {
    allow(request, READERS);
    return { tenants: await ctx.gateway.tenants() };
  });

  app.get('/v1/tenants/:account_id', async (request) => {
    allow(request, READERS);
    const accountId = accountOf(request);
    const tenant = await ctx.gateway.tenant(accountId);
    if (tenant === null) throw new IngressError(404, 'NOT_FOUND', `tenant ${accountId} is not known`);
    return tenant;
  });

  app.get('/v1/tenants/:account_id/receipts', async (request) => {
    allow(request, READERS);
    const accountId = accountOf(request);
    const page = parseBody(ReceiptPage, request.query, 'query');
    const chain = tenantChain(accountId);
    const receipts: unknown[] = [];
    for await (const stored of ctx.ledger.read(chain, { afterSeq: page.after_seq, limit: page.limit }))
      receipts.push({ ...stored, body: JSON.parse(stored.body) as unknown, body_bytes: stored.body });
    // An empty page is either past the end of a known chain or a tenant that does not exist.
    if (receipts.length === 0) await requireTenant(ctx, accountId);
    const last = receipts.at(-1) as { body: { seq: number } } | undefined;
    return { chain, receipts, next_after_seq: receipts.length === page.limit && last ? last.body.seq : null };
  });

  app.get('/v1/tenants/:account_id/receipts/:receipt_id', async (request) => {
    allow(request, READERS);
    const accountId = accountOf(request);
    const receiptId = (request.params as { receipt_id: string }).receipt_id;
    if (!/^[0-9a-f-]{36}$/.test(receiptId))
      throw new IngressError(400, 'BAD_REQUEST', 'receipt_id must be a UUID');
    const chain = tenantChain(accountId);
    const found = await lookupReceipt(
      ctx.ledger,
      chain,
      receiptId,
      new Keyring(ctx.keys()),
      await ctx.latestCheckpoint(chain),
    );
    if (found === null) throw new IngressError(404, 'NOT_FOUND', `no receipt ${receiptId} on ${chain}`);
    return found;
  });

  app.get('/v1/tenants/:account_id/export', async (request, reply) => {
    allow(request, ['auditor']);
    const accountId = accountOf(request);
    const records = ctx.ledger.read(tenantChain(accountId))[Symbol.asyncIterator]();
    // Peek first: an empty chain of an unknown tenant is a 404, not an empty export (a tenant
    // whose provisioning failed has no record but a chain, and exports it).
    const first = await records.next();
    if (first.done) await requireTenant(ctx, accountId);
    async function* lines() {
      if (!first.done) yield exportLine(first.value) + '\n';
      for (let next = await records.next(); !next.done; next = await records.next())
        yield exportLine(next.value) + '\n';
    }
    return reply
      .type('application/x-ndjson')
      .header('content-disposition', `attachment; filename="${accountId}.jsonl"`)
      .send(Readable.from(lines()));
  });

  // An export proves its own tail only with a checkpoint of its size: this one is the latest
  // signed (witnessed in Cloud Storage where there is a witness), for verify-chain --checkpoint.
  app.get('/v1/tenants/:account_id/checkpoint', async (request, reply) => {
    allow(request, ['auditor']);
    const accountId = accountOf(request);
    const chain = tenantChain(accountId);
    const note = await ctx.latestCheckpoint(chain);
    if (note === null) {
      if ((await ctx.ledger.head(chain)) === null) await requireTenant(ctx, accountId);
      throw new IngressError(
        404,
        'NOT_FOUND',
        `no signed checkpoint of ${chain} yet: a chain is checkpointed every 1,000 receipts and at decommission`,
        { chain },
      );
    }
    let size: number | null = null;
    try {
      size = parseCheckpoint(note).checkpoint.size;
    } catch {
      // Served as stored all the same: verify-chain says why it does not parse.
    }
    if (size !== null) void reply.header('x-governor-checkpoint-size', String(size));
    return reply
      .type('text/plain; charset=utf-8')
      .header('content-disposition', `attachment; filename="${accountId}.note"`)
      .send(note);
  });

  // The latest archive only: each one holds the whole chain up to its decommission, so an
  // earlier archive of the same tenant is a prefix of it.
  app.get('/v1/tenants/:account_id/archive', async (request, reply) => {
    allow(request, ['auditor']);
    const accountId = accountOf(request);
    const chain = tenantChain(accountId);
    if (ctx.archive === undefined)
      throw new IngressError(503, 'UNAVAILABLE', 'this ingress has no archive store to serve archives from');
    const receipt = await latestArchiveReceipt(ctx.ledger, chain);
    if (receipt === null) {
      if ((await ctx.ledger.head(chain)) === null) await requireTenant(ctx, accountId);
      throw new IngressError(
        404,
        'NOT_FOUND',
        `no archive of ${accountId}: its chain has no decommission_complete receipt (an archive is written when a tenant is decommissioned)`,
        { chain },
      );
    }
    const at = { receipt_seq: receipt.seq, archive_gcs_path: receipt.archive_gcs_path };
    const name = archiveNameOf(String(receipt.archive_gcs_path), accountId);
    if (name === null)
      throw new IngressError(
        500,
        'INTERNAL',
        `the decommission_complete receipt at seq ${receipt.seq} of ${chain} records an archive location that is not an archive of ${accountId}`,
        at,
      );
    const bytes = await ctx.archive.get(name);
    if (bytes === null)
      throw new IngressError(
        404,
        'NOT_FOUND',
        `the decommission_complete receipt at seq ${receipt.seq} of ${chain} records archive ${name}, but the archive store does not hold it`,
        { ...at, archive: name },
      );
    if (bytes.length !== receipt.archive_size_bytes)
      throw new IngressError(
        500,
        'INTERNAL',
        `archive ${name} holds ${bytes.length} bytes, but the signed decommission_complete receipt at seq ${receipt.seq} says ${receipt.archive_size_bytes}: it is not the archive that was written`,
        { ...at, archive: name, stored_bytes: bytes.length, receipt_bytes: receipt.archive_size_bytes },
      );
    return reply
      .type('application/gzip')
      .header('content-disposition', `attachment; filename="${name.replace('/', '-')}"`)
      .header('x-governor-archive', name)
      .header('x-governor-receipt-seq', String(receipt.seq))
      .send(bytes);
  });

  app.get('/v1/keys', () => ({ keys: ctx.keys() }));
}

async function requireTenant(ctx: IngressContext, accountId: string): Promise<void> {
  if ((await ctx.gateway.tenant(accountId)) === null)
    throw new IngressError(404, 'NOT_FOUND', `tenant ${accountId} is not known`);
}
