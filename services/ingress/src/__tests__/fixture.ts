import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogAlertSink } from '@governor/adapters-local';
import { ActionError, GovernorRuntime, systemClock, type ActionHandler } from '@governor/governor';
import {
  MemoryArchive,
  MemoryBus,
  MemoryDirectory,
  MemoryLedger,
  MemoryRegistry,
  MemorySpool,
} from '@governor/governor/testing';
import { Keyring, SigningKey } from '@governor/receipts';
import pino from 'pino';
import { buildIngress } from '../app';
import { parseTokens } from '../auth';
import { RuntimeGateway, type RuntimeGatewayOptions } from '../runtime-gateway';
import { parseSecrets, webhookHeaders } from '../webhook-signature';

export const WEBHOOK_SECRET = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;
export const OLD_WEBHOOK_SECRET = `whsec_${Buffer.alloc(24, 2).toString('base64')}`;
export const POLICY_SECRET = `whsec_${Buffer.alloc(24, 3).toString('base64')}`;
export const TOKENS = {
  admin: 'admin-token-0123456789',
  operator: 'operator-token-0123456789',
  auditor: 'auditor-token-0123456789',
} as const;

/** `params.mode`: 'slow' never answers, 'fail' rejects, anything else succeeds. */
const scripted: ActionHandler = {
  run: ({ params }) => {
    if (params.mode === 'slow') return new Promise<void>(() => undefined);
    if (params.mode === 'fail') return Promise.reject(new ActionError('HTTP_500', 'endpoint answered 500'));
    return Promise.resolve();
  },
  rollback: () => Promise.resolve(),
};

export async function loadRepoPolicies(registry: MemoryRegistry): Promise<void> {
  const root = join(__dirname, '..', '..', '..', '..', 'policies');
  for (const plan of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()))
    for (const file of readdirSync(join(root, plan.name)).filter((f) => f.endsWith('.json')))
      await registry.put(
        plan.name,
        file.replace(/\.json$/, ''),
        JSON.parse(readFileSync(join(root, plan.name, file), 'utf8')),
      );
}

/**
 * The ingress on a real runtime over the in-process adapters, with a gateway whose calls are
 * counted (so a test can say "nothing was triggered"), and an injectable clock for timestamps.
 * The archive store is the ingress's too (auditor routes), unless `archive: false`.
 */
export async function ingressFixture(
  options: RuntimeGatewayOptions & { bodyLimit?: number; archive?: boolean } = {},
) {
  const ledger = new MemoryLedger();
  const archive = new MemoryArchive();
  const directory = new MemoryDirectory();
  const registry = new MemoryRegistry();
  await loadRepoPolicies(registry);
  const key = SigningKey.fromSeed(Buffer.alloc(32, 7));
  const keys = [key.publicEntry('2026-01-01T00:00:00.000Z')];
  const runtime = await GovernorRuntime.start({
    workerId: 'worker-1',
    ledger,
    directory,
    bus: new MemoryBus(systemClock, 20),
    archive,
    registry,
    handlers: { noop: scripted, http: scripted },
    alerts: new LogAlertSink(() => undefined),
    clock: systemClock,
    signer: key,
    keys,
    spool: new MemorySpool(),
    drainTimeoutMs: 200,
  });
  const gateway = new RuntimeGateway(runtime, directory, ledger, options);
  const calls: string[] = [];
  const counted = new Proxy(gateway, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  let now = Date.now();
  const clock = { now: () => now, set: (ms: number) => (now = ms) };
  const app = buildIngress({
    gateway: counted,
    ledger,
    latestCheckpoint: (chain) => ledger.latestCheckpoint(chain),
    ...(options.archive === false ? {} : { archive }),
    keys: () => keys,
    webhookSecrets: parseSecrets([WEBHOOK_SECRET, OLD_WEBHOOK_SECRET], 'webhook'),
    policySecrets: parseSecrets([POLICY_SECRET], 'policy'),
    tokens: parseTokens(
      Object.entries(TOKENS)
        .map(([r, t]) => `${r}:${t}`)
        .join(','),
    ),
    logger: pino({ level: 'silent' }),
    now: clock.now,
    ...(options.bodyLimit !== undefined ? { bodyLimit: options.bodyLimit } : {}),
  });
  await app.ready();
  return {
    app,
    runtime,
    gateway,
    ledger,
    directory,
    registry,
    archive,
    keys,
    keyring: new Keyring(keys),
    calls,
    clock,
    async close() {
      await app.close();
      await runtime.stop({ drain: false });
    },
  };
}

let sequence = 0;

/** A signed request as a marketplace sends it (Standard Webhooks), for `app.inject`. */
export function signedRequest(
  url: string,
  body: unknown,
  options: { secret?: string; id?: string; timestampS?: number; raw?: string; nowMs?: number } = {},
) {
  const raw = options.raw ?? JSON.stringify(body);
  const secret = parseSecrets([options.secret ?? WEBHOOK_SECRET], 'test')[0] as Buffer;
  const id = options.id ?? `msg_${++sequence}_${Date.now()}`;
  const ts = options.timestampS ?? Math.round((options.nowMs ?? Date.now()) / 1000);
  return {
    method: 'POST' as const,
    url,
    headers: { 'content-type': 'application/json', ...webhookHeaders(secret, id, ts, raw) },
    payload: raw,
  };
}

export function entitlement(
  type: 'entitlement.created' | 'entitlement.plan_changed' | 'entitlement.cancelled',
  accountId: string,
  overrides: Record<string, unknown> = {},
) {
  return {
    type,
    entitlement_id: `ent-${accountId}`,
    account_id: accountId,
    sku_id: 'governor-starter',
    plan_type: 'starter',
    region: 'us-central1',
    occurred_at: '2026-11-23T10:00:00Z',
    ...overrides,
  };
}
