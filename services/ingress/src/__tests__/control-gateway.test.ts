import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { tenantChain } from '@governor/contracts';
import type {
  ControlChannel,
  ControlMessage,
  EntitlementEvent,
  PolicyRegistry,
  ReceiptLedger,
  SignalBus,
} from '@governor/governor';
import type { StoredReceipt } from '@governor/contracts';
import type { ChainHead } from '@governor/receipts';
import { ControlGateway } from '../control-gateway';
import { IngressError } from '../errors';
import { advance, MemoryDirectory, settle, tenantRecord, TestClock } from '@governor/governor/testing';

const T0 = Date.parse('2026-12-02T10:00:00.000Z');

/** A ledger holding what the workers wrote, as receipt bodies per chain; counts the reads. */
class WrittenReceipts {
  readonly chains = new Map<string, Record<string, unknown>[]>();
  reads = 0;

  write(chain: string, body: Record<string, unknown>): void {
    const bodies = this.chains.get(chain) ?? [];
    bodies.push({ ...body, seq: bodies.length });
    this.chains.set(chain, bodies);
  }

  asLedger(): ReceiptLedger {
    const ledger: Pick<ReceiptLedger, 'head' | 'read'> = {
      head: (chain) => {
        const size = this.chains.get(chain)?.length ?? 0;
        return Promise.resolve(size === 0 ? null : ({ size } as ChainHead));
      },
      read: (chain, options) => {
        this.reads++;
        const records = (this.chains.get(chain) ?? [])
          .slice((options?.afterSeq ?? -1) + 1)
          .map((body) => ({ body: JSON.stringify(body) }) as StoredReceipt);
        return Readable.from(records) as AsyncIterable<StoredReceipt>;
      },
    };
    return ledger as ReceiptLedger;
  }
}

const created: EntitlementEvent = {
  type: 'entitlement.created',
  entitlement_id: 'ent-acme',
  account_id: 'acme',
  sku_id: 'governor-starter',
  plan_type: 'starter',
  region: 'us-central1',
  occurred_at: '2026-12-02T10:00:00.000Z',
};

function gatewayOnSimulatedTime(options: { answerTimeoutMs?: number; pollMs?: number } = {}) {
  const clock = new TestClock();
  clock.set(T0);
  const written = new WrittenReceipts();
  const directory = new MemoryDirectory();
  const published: ControlMessage[] = [];
  const control: ControlChannel = {
    publish: (message) => {
      published.push(message);
      return Promise.resolve();
    },
    subscribe: () => Promise.reject(new Error('the ingress never subscribes')),
  };
  const registry = { latest: () => Promise.resolve(null) } as unknown as PolicyRegistry;
  const gateway = new ControlGateway(
    { control, ledger: written.asLedger(), directory, registry, bus: {} as SignalBus },
    { ...options, clock },
  );
  return { clock, written, directory, published, gateway };
}

describe('ControlGateway: waiting for a worker on its clock', () => {
  it("polls the tenant's chain every pollMs of the clock and answers with the receipt a worker wrote", async () => {
    const { clock, written, published, gateway } = gatewayOnSimulatedTime({ pollMs: 50 });
    const answer = gateway.provision(created, 'corr-1');
    await settle();
    expect(published).toEqual([{ kind: 'entitlement', event: created, correlation_id: 'corr-1' }]);
    // No time passes, no second read, however long the event loop runs.
    await settle(20);
    expect(written.reads).toBe(1);
    await advance(clock, 200);
    expect(written.reads).toBe(5);

    written.write(tenantChain('acme'), {
      operation: 'entitlement_active',
      entitlement_id: 'ent-acme',
      receipt_id: 'r-1',
    });
    await advance(clock, 50);
    await expect(answer).resolves.toEqual({ ok: true, receipt_id: 'r-1', operation: 'entitlement_active' });
  });

  it('answers 503 (retry after 5 s) once answerTimeoutMs of the clock passed without the receipt, not before', async () => {
    const { clock, gateway } = gatewayOnSimulatedTime({ answerTimeoutMs: 1_000, pollMs: 50 });
    let outcome: unknown;
    gateway.provision(created, 'corr-1').then(
      () => (outcome = 'answered'),
      (e: unknown) => (outcome = e),
    );
    await advance(clock, 950);
    expect(outcome).toBeUndefined();
    await advance(clock, 100);
    expect(outcome).toBeInstanceOf(IngressError);
    expect(outcome).toMatchObject({ status: 503, code: 'UNAVAILABLE', retryAfterS: 5 });
  });

  it('reports how long a policy push took by the clock', async () => {
    const { clock, written, directory, published, gateway } = gatewayOnSimulatedTime({ pollMs: 50 });
    await directory.put(tenantRecord('acme'));
    const policy = JSON.parse(
      readFileSync(join(__dirname, '../../../../policies/starter/1.0.0.json'), 'utf8'),
    ) as Record<string, unknown>;
    const pushed = gateway.pushPolicy(policy, { force: false, correlationId: 'corr-2' });
    // Checked and broadcast (no time passes), then the tenant's chain is polled.
    await settle(20);
    expect(published).toHaveLength(1);
    await advance(clock, 250);
    written.write(tenantChain('acme'), { operation: 'policy_upgraded', policy_version: '1.0.0' });
    await advance(clock, 100);
    await expect(pushed).resolves.toMatchObject({
      outcome: 'upgraded',
      governors_updated: 1,
      governors_failed: 0,
      duration_ms: 300,
    });
  });
});
