import { ChainWriter, GovernorError, type AlertSink } from '@governor/governor';
import { MemoryLedger, MemorySpool } from '@governor/governor/testing';
import { SigningKey, sampleFields, verifyLines } from '@governor/receipts';
import { collect, keyringFor, recordLines } from '@governor/testkit';

// The chain writer over the memory ledger, with two clients of one store standing for two
// workers: the lease owner that lost its lease (paused, partitioned) and the one that took over.

const CHAIN = 'tenants/acme';
const key = SigningKey.fromSeed(Buffer.alloc(32, 21));
let t = Date.parse('2026-11-23T10:00:00.000Z');
const clock = { now: () => (t += 1), setTimeout: () => 0, clearTimeout: () => undefined };

function recordingAlerts() {
  const alerts: { severity: string; code: string; message: string }[] = [];
  const sink: AlertSink = { alert: (a) => alerts.push(a) };
  return { alerts, sink };
}

async function expectChainVerifies(ledger: MemoryLedger, size: number): Promise<void> {
  const report = await verifyLines(recordLines(await collect(ledger.read(CHAIN))), {
    keyring: keyringFor(key),
    expectedChain: CHAIN,
    threads: 0,
  });
  expect(report.issues).toEqual([]);
  expect(report.count).toBe(size);
}

describe('ChainWriter with a fencing epoch', () => {
  it('open claims the chain at its epoch before reading the head; a lower epoch cannot open it', async () => {
    const store = new MemoryLedger();
    const owner = await ChainWriter.open(CHAIN, store, key, clock, { epoch: 3 });
    await owner.emit(sampleFields('acme', 0)).durable;

    await expect(ChainWriter.open(CHAIN, store.connect(), key, clock, { epoch: 2 })).rejects.toMatchObject({
      code: 'LEDGER_FENCED',
      retryable: false,
    });
    // The same epoch again is the same owner reopening: it continues the chain.
    const reopened = await ChainWriter.open(CHAIN, store.connect(), key, clock, { epoch: 3 });
    expect(reopened.size).toBe(1);
    await reopened.emit(sampleFields('acme', 1)).durable;
    await expectChainVerifies(store, 2);
  });

  it('a commit fenced by a newer owner rejects every pending receipt, spools nothing, calls onFenced once, and the new owner continues the chain', async () => {
    const store = new MemoryLedger();
    const spool = new MemorySpool();
    const { alerts, sink } = recordingAlerts();
    const fencedChains: string[] = [];
    const old = await ChainWriter.open(CHAIN, store, key, clock, {
      epoch: 1,
      spool,
      alerts: sink,
      maxBatch: 2,
      onFenced: (chain) => fencedChains.push(chain),
    });
    await Promise.all([0, 1, 2].map((i) => old.emit(sampleFields('acme', i)).durable));

    // The old owner is paused past its lease; another worker takes the tenant over at epoch 2.
    const newer = await ChainWriter.open(CHAIN, store.connect(), key, clock, { epoch: 2 });
    expect(newer.size).toBe(3);

    // Resumed, the old owner commits what it had: five receipts, in batches of two.
    const late = [3, 4, 5, 6, 7].map((i) => old.emit(sampleFields('acme', i)));
    for (const emitted of late)
      await expect(emitted.durable).rejects.toMatchObject({ code: 'LEDGER_FENCED', retryable: false });
    expect(fencedChains).toEqual([CHAIN]);
    expect(old.isFenced).toBe(true);
    expect(old.isSpooling).toBe(false);
    expect(old.spooled).toBe(0);
    expect(await spool.pending(CHAIN)).toBeNull();
    expect(() => old.emit(sampleFields('acme', 8))).toThrow(GovernorError);
    await expect(old.flush()).resolves.toBeUndefined();
    await expect(old.checkpoint()).rejects.toMatchObject({ code: 'LEDGER_FENCED' });
    expect(await old.recover()).toBe(0);
    expect(fencedChains).toEqual([CHAIN]);
    expect(alerts.map((a) => a.code)).toEqual(['LEDGER_FENCED']);

    // Nothing of the old owner's reached the chain; the new owner continues it, no fork.
    expect((await store.head(CHAIN))?.size).toBe(3);
    await Promise.all([3, 4].map((i) => newer.emit(sampleFields('acme', i)).durable));
    await expectChainVerifies(store, 5);
  });

  it('a fenced commit is not spooled even while the store is also flaky: the spool is for an unavailable store only', async () => {
    const store = new MemoryLedger();
    const spool = new MemorySpool();
    const old = await ChainWriter.open(CHAIN, store, key, clock, { epoch: 1, spool });
    await old.emit(sampleFields('acme', 0)).durable;
    await store.connect().claim(CHAIN, 2);
    await expect(old.emit(sampleFields('acme', 1)).durable).rejects.toMatchObject({ code: 'LEDGER_FENCED' });
    expect(old.isSpooling).toBe(false);
    expect(await spool.pending(CHAIN)).toBeNull();
  });

  it('a writer spooling through an outage while a newer owner took over: recovery writes nothing of the spool, fails fenced and resolves 0', async () => {
    const store = new MemoryLedger();
    const spool = new MemorySpool();
    const { alerts, sink } = recordingAlerts();
    const fencedChains: string[] = [];
    const old = await ChainWriter.open(CHAIN, store, key, clock, {
      epoch: 1,
      spool,
      alerts: sink,
      onFenced: (chain) => fencedChains.push(chain),
    });
    await old.emit(sampleFields('acme', 0)).durable;
    // The old owner's link to the store goes down: it spools (safe mode).
    store.setOutage('partitioned');
    await old.emit(sampleFields('acme', 1)).durable;
    await old.emit(sampleFields('acme', 2)).durable;
    expect(old.spooled).toBe(2);

    // Meanwhile the other worker takes over and writes the same seqs.
    const newer = await ChainWriter.open(CHAIN, store.connect(), key, clock, { epoch: 2 });
    await newer.emit(sampleFields('acme', 1)).durable;

    store.setOutage(null);
    expect(await old.recover()).toBe(0);
    expect(fencedChains).toEqual([CHAIN]);
    expect(old.isFenced).toBe(true);
    expect(old.isSpooling).toBe(false);
    expect(alerts).toEqual([expect.objectContaining({ severity: 'critical', code: 'LEDGER_FENCED' })]);
    // Kept for an operator, not flushed over the new owner's receipts.
    expect((await spool.pending(CHAIN))?.entries).toHaveLength(2);
    expect((await store.head(CHAIN))?.size).toBe(2);
    await newer.emit(sampleFields('acme', 2)).durable;
    await expectChainVerifies(store, 3);
  });

  it('a writer spooling through an outage that kept its lease flushes the spool as before', async () => {
    const store = new MemoryLedger();
    const spool = new MemorySpool();
    const fencedChains: string[] = [];
    const owner = await ChainWriter.open(CHAIN, store, key, clock, {
      epoch: 4,
      spool,
      onFenced: (chain) => fencedChains.push(chain),
    });
    await owner.emit(sampleFields('acme', 0)).durable;
    store.setOutage('down');
    await owner.emit(sampleFields('acme', 1)).durable;
    store.setOutage(null);
    expect(await owner.recover()).toBe(1);
    await owner.emit(sampleFields('acme', 2)).durable;
    expect(fencedChains).toEqual([]);
    await expectChainVerifies(store, 3);
  });

  it('without an epoch the writer claims nothing and commits unfenced', async () => {
    const store = new MemoryLedger();
    await store.connect().claim(CHAIN, 9);
    const unfenced = await ChainWriter.open(CHAIN, store, key, clock);
    await unfenced.emit(sampleFields('acme', 0)).durable;
    await expectChainVerifies(store, 1);
  });

  it('a throwing onFenced is reported, and the writer still fails as fenced', async () => {
    const store = new MemoryLedger();
    const { alerts, sink } = recordingAlerts();
    const old = await ChainWriter.open(CHAIN, store, key, clock, {
      epoch: 1,
      alerts: sink,
      onFenced: () => {
        throw new Error('runtime gone');
      },
    });
    await store.connect().claim(CHAIN, 2);
    await expect(old.emit(sampleFields('acme', 0)).durable).rejects.toMatchObject({ code: 'LEDGER_FENCED' });
    expect(old.isFenced).toBe(true);
    expect(alerts.map((a) => a.code).sort()).toEqual(['LEDGER_FENCED', 'ON_FENCED_FAILED']);
  });
});
