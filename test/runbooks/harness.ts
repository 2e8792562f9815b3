import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LogAlertSink } from '@governor/adapters-local';
import {
  ActionError,
  GovernorRuntime,
  type ActionHandler,
  type RuntimeDeps,
  type Signal,
} from '@governor/governor';
import {
  MemoryArchive,
  MemoryBus,
  MemoryDirectory,
  MemoryLedger,
  MemoryRegistry,
  MemorySpool,
} from '@governor/governor/testing';
import { Keyring, SigningKey, verifyLines, type VerifyReport } from '@governor/receipts';
import { SimulatedClock } from 'xstate';

export const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/**
 * A test action handler whose behaviour the signal chooses: `params.mode` = 'slow' never
 * answers (times out), 'fail' rejects, anything else succeeds.
 */
export const scriptedHandler: ActionHandler = {
  run: ({ params }) => {
    if (params.mode === 'slow') return new Promise<void>(() => undefined);
    if (params.mode === 'fail') return Promise.reject(new ActionError('HTTP_500', 'endpoint answered 500'));
    return Promise.resolve();
  },
  rollback: () => Promise.resolve(),
};

export function loadPolicies(registry: MemoryRegistry): Promise<void[]> {
  const root = join(__dirname, '..', '..', 'policies');
  const puts: Promise<void>[] = [];
  for (const plan of readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    for (const file of readdirSync(join(root, plan.name)).filter((f) => f.endsWith('.json'))) {
      puts.push(
        registry.put(
          plan.name,
          file.replace(/\.json$/, ''),
          JSON.parse(readFileSync(join(root, plan.name, file), 'utf8')),
        ),
      );
    }
  }
  return Promise.all(puts);
}

export async function harness(options: { queueCapacity?: number } = {}) {
  const clock = new SimulatedClock();
  clock.set(T0);
  const key = SigningKey.fromSeed(Buffer.alloc(32, 11));
  const keys = [key.publicEntry('2026-01-01T00:00:00.000Z')];
  const ledger = new MemoryLedger();
  const bus = new MemoryBus(clock, 200);
  const directory = new MemoryDirectory();
  const archive = new MemoryArchive();
  const registry = new MemoryRegistry();
  const alerts = new LogAlertSink(() => undefined);
  const spool = new MemorySpool();
  await loadPolicies(registry);
  const runtime = await GovernorRuntime.start({
    workerId: 'worker-1',
    ledger,
    directory,
    bus,
    archive,
    registry,
    handlers: { noop: scriptedHandler, http: scriptedHandler },
    alerts,
    clock,
    signer: key,
    keys,
    spool,
    ...(options.queueCapacity ? { queueCapacity: options.queueCapacity } : {}),
  });
  let n = 0;
  const signal = (account_id: string, fields: Partial<Signal> = {}): Signal => ({
    signal_id: `sig-${n++}`,
    account_id,
    type: 'action',
    action_kind: 'noop',
    params: {},
    published_at: clock.now(),
    ...fields,
  });
  const settle = async (rounds = 5) => {
    for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  };
  const receipts = async (chain: string) => {
    const out: Record<string, unknown>[] = [];
    for await (const r of ledger.read(chain)) out.push(JSON.parse(r.body) as Record<string, unknown>);
    return out;
  };
  const ops = async (chain: string) => (await receipts(chain)).map((r) => r.operation);
  const verify = async (chain: string): Promise<VerifyReport> => {
    const lines: string[] = [];
    for await (const r of ledger.read(chain)) lines.push(JSON.stringify(r));
    return verifyLines(lines, { keyring: new Keyring(keys), threads: 0, expectedChain: chain });
  };
  const provision = (account_id: string, plan_type = 'professional', sku_id = `governor-${plan_type}`) =>
    runtime.provision({
      entitlement_id: `ent-${account_id}`,
      account_id,
      sku_id,
      plan_type,
      region: 'us-central1',
    });
  /**
   * Another runtime on the same stores: a peer worker, or this one after a restart. `parts`
   * replaces some of its parts (its own ledger client, handlers, registry, spool, ...).
   */
  const peer = (workerId: string, parts: Partial<RuntimeDeps> = {}) =>
    GovernorRuntime.start({
      workerId,
      ledger,
      directory,
      bus,
      archive,
      registry,
      handlers: { noop: scriptedHandler, http: scriptedHandler },
      alerts,
      clock,
      signer: key,
      keys,
      ...parts,
    });
  return {
    peer,
    clock,
    key,
    keys,
    ledger,
    bus,
    directory,
    archive,
    registry,
    alerts,
    spool,
    runtime,
    signal,
    settle,
    receipts,
    ops,
    verify,
    provision,
  };
}
