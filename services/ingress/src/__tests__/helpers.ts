import { tenantChain } from '@governor/contracts';
import type { LightMyRequestResponse } from 'fastify';
import type { ErrorEnvelope } from '../errors';
import { TOKENS, entitlement, ingressFixture, signedRequest } from './fixture';

export type Fixture = Awaited<ReturnType<typeof ingressFixture>>;
export type Role = keyof typeof TOKENS;

/** The fixed instant the injectable clock is set to (whole seconds, so ±N s is exact). */
export const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
export const WEBHOOK_URL = '/v1/webhooks/marketplace';
export const POLICY_URL = '/v1/policies';

/**
 * Opens fixtures for one test file and closes every one of them after each test, so jest exits
 * (a test that needs other options opens a second fixture with `open`).
 */
export function fixtures() {
  const opened: Fixture[] = [];
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((f) => f.close()));
  });
  return {
    async open(options: Parameters<typeof ingressFixture>[0] = {}): Promise<Fixture> {
      const f = await ingressFixture(options);
      opened.push(f);
      f.clock.set(T0);
      return f;
    },
  };
}

/** Asserts the status and the error envelope: exactly its four keys, and the response's correlation id. */
export function expectEnvelope(res: LightMyRequestResponse, status: number, code: string): ErrorEnvelope {
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status });
  const body = res.json<ErrorEnvelope>();
  expect(Object.keys(body).sort()).toEqual(['code', 'correlation_id', 'details', 'message']);
  expect(body.code).toBe(code);
  expect(typeof body.message).toBe('string');
  expect(body.message.length).toBeGreaterThan(0);
  expect(typeof res.headers['x-correlation-id']).toBe('string');
  expect(body.correlation_id).toBe(res.headers['x-correlation-id']);
  expect(body.details).toEqual(expect.any(Object));
  expect(Array.isArray(body.details)).toBe(false);
  return body;
}

/** The parsed bodies of a tenant's chain, in seq order. */
export async function chainBodies(f: Fixture, accountId: string): Promise<Record<string, unknown>[]> {
  const bodies: Record<string, unknown>[] = [];
  for await (const r of f.ledger.read(tenantChain(accountId)))
    bodies.push(JSON.parse(r.body) as Record<string, unknown>);
  return bodies;
}

/** Receipts stored on the worker chain, every running tenant's chain and the chains of `accounts`. */
async function receiptCounts(f: Fixture, accounts: readonly string[]): Promise<Record<string, number>> {
  const chains = new Set([...f.runtime.chains(), ...accounts.map((a) => tenantChain(a))]);
  const counts: Record<string, number> = {};
  for (const chain of chains) {
    const records: unknown[] = [];
    for await (const record of f.ledger.read(chain)) records.push(record);
    counts[chain] = records.length;
  }
  return counts;
}

export interface Snapshot {
  readonly calls: string[];
  readonly receipts: Record<string, number>;
  readonly governors: number;
  readonly accounts: readonly string[];
}

/** What a rejection must leave as it was: gateway calls, receipts on every chain, governors. */
export async function snapshot(f: Fixture, accounts: readonly string[] = []): Promise<Snapshot> {
  return {
    calls: [...f.calls],
    receipts: await receiptCounts(f, accounts),
    governors: f.runtime.list().length,
    accounts,
  };
}

/**
 * Nothing was triggered since `before`: no gateway call (except the read-only or refusing ones
 * listed in `allowedCalls`, e.g. the gateway call that refused), no new receipt, no new governor.
 */
export async function expectNothingTriggered(
  f: Fixture,
  before: Snapshot,
  allowedCalls: readonly string[] = [],
): Promise<void> {
  expect(f.calls).toEqual([...before.calls, ...allowedCalls]);
  expect(await receiptCounts(f, before.accounts)).toEqual(before.receipts);
  expect(f.runtime.list()).toHaveLength(before.governors);
}

/** Polls `check` every 10 ms until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 3_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A marketplace webhook signed at the fixture's clock, with optional extra headers. */
export function webhook(
  f: Fixture,
  body: unknown,
  options: Parameters<typeof signedRequest>[2] & { headers?: Record<string, string> } = {},
) {
  const { headers, ...signing } = options;
  const req = signedRequest(WEBHOOK_URL, body, { nowMs: f.clock.now(), ...signing });
  return { ...req, headers: { ...req.headers, ...headers } };
}

/** Provisions `accountId` over HTTP (entitlement.created) and returns the 200 answer. */
export async function provision(
  f: Fixture,
  accountId: string,
  overrides: Record<string, unknown> = {},
): Promise<{ receipt_id: string; operation: string; receipt: Record<string, unknown> }> {
  const res = await f.app.inject(webhook(f, entitlement('entitlement.created', accountId, overrides)));
  expect({ status: res.statusCode, body: res.body }).toMatchObject({ status: 200 });
  return res.json();
}

/** A shallow copy of `value` without `key` (a field a test leaves out). */
export function without<T extends object, K extends keyof T>(value: T, key: K): Omit<T, K> {
  const copy = { ...value };
  delete copy[key];
  return copy;
}

export function bearer(role: Role): Record<string, string> {
  return { authorization: `Bearer ${TOKENS[role]}` };
}
