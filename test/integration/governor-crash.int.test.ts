import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileLedger } from '@governor/adapters-local';
import { edgeClient, entitlementEvent, startGovernorProcess } from '../support/governor-start';

// Issue 12 item 10: a 202 means the signal is durable. On the embedded default, a governor killed
// with SIGKILL right after answering must run every signal it answered 202, once, after restart.
jest.setTimeout(180_000);

const SIGNALS = 600;
const AT_ONCE = 50;

describe('governor start killed with SIGKILL after answering 202', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'governor-crash-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('runs every signal it accepted once it is started again: each has exactly one receipt', async () => {
    const data = join(dir, 'data');
    const first = await startGovernorProcess(data);
    const client = edgeClient(first.url, first.secrets);
    expect((await client.webhook(entitlementEvent('entitlement.created', 'acme'))).status).toBe(200);

    const accepted: string[] = [];
    for (let i = 0; i < SIGNALS; i += AT_ONCE) {
      const answers = await Promise.all(
        Array.from({ length: AT_ONCE }, () =>
          client.post('/v1/tenants/acme/signals', { action_kind: 'noop' }),
        ),
      );
      for (const a of answers) if (a.status === 202) accepted.push(a.body.signal_id as string);
    }
    expect(await first.stop('SIGKILL')).toBeNull();
    // Most were answered; a few may have met a full queue (429), and those are not counted.
    expect(accepted.length).toBeGreaterThan(SIGNALS / 2);

    const second = await startGovernorProcess(data);
    const ledger = await FileLedger.open(join(data, 'ledger'));
    const receiptsOf = async () => {
      const bySignal = new Map<string, string[]>();
      for await (const r of ledger.read('tenants/acme')) {
        const body = JSON.parse(r.body) as { signal_id?: string; action_id?: string; operation: string };
        // Action receipts name the action (its id is the signal's with a suffix); refusals the signal.
        const id = body.signal_id ?? body.action_id?.replace(/-a0$/, '');
        if (id) bySignal.set(id, [...(bySignal.get(id) ?? []), body.operation]);
      }
      return bySignal;
    };
    const deadline = Date.now() + 60_000;
    let bySignal = await receiptsOf();
    while (accepted.some((id) => !bySignal.has(id)) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      bySignal = await receiptsOf();
    }
    expect(await second.stop('SIGTERM')).toBe(0);
    bySignal = await receiptsOf();

    const missing = accepted.filter((id) => !bySignal.has(id));
    expect({ accepted: accepted.length, missing: missing.length }).toEqual({
      accepted: accepted.length,
      missing: 0,
    });
    // One outcome each: completed once, or (running at the kill) timed out and rolled back.
    const outcomes = new Map<string, number>();
    for (const id of accepted) {
      const ops = (bySignal.get(id) ?? []).join(',');
      outcomes.set(ops, (outcomes.get(ops) ?? 0) + 1);
    }
    const expected = ['action_complete', 'action_timeout,action_rolled_back'];
    expect([...outcomes].filter(([ops]) => !expected.includes(ops))).toEqual([]);
  });
});
