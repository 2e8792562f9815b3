import { Keyring, SigningKey, sampleFields, verifyLines } from '@governor/receipts';
import { ChainWriter } from '../chain-writer';
import { writesOf } from '../ledger-rules';
import { GovernorError } from '../../errors';
import type { ChainHead } from '@governor/receipts';
import type { LedgerEntry } from '../../ports';
import { MemoryLedger, MemorySpool, TestClock, advance, settle } from '../../testing';

const key = SigningKey.fromSeed(Buffer.alloc(32, 1));
const keyring = new Keyring([key.publicEntry('2026-01-01T00:00:00.000Z')]);
let t = Date.parse('2026-11-23T10:00:00.000Z');
const clock = { now: () => (t += 1), setTimeout: () => 0, clearTimeout: () => undefined };

describe('ChainWriter', () => {
  it('knows id and seq at once, and group-commits one turn of emits in one batch', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
    const emitted = Array.from({ length: 25 }, (_, i) => writer.emit(sampleFields('acme', i)));
    expect(emitted.map((e) => e.seq)).toEqual(Array.from({ length: 25 }, (_, i) => i));
    await Promise.all(emitted.map((e) => e.durable));
    expect(ledger.batches).toEqual([25]);
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect((await verifyLines(lines, { keyring, threads: 0 })).ok).toBe(true);
  });

  it('splits large bursts at maxBatch and continues a stored chain after reopening', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { maxBatch: 10 });
    const emitted = Array.from({ length: 25 }, (_, i) => writer.emit(sampleFields('acme', i)));
    await Promise.all(emitted.map((e) => e.durable));
    expect(ledger.batches.reduce((a, b) => a + b, 0)).toBe(25);
    expect(Math.max(...ledger.batches)).toBeLessThanOrEqual(10);
    const reopened = await ChainWriter.open('tenants/acme', ledger, key, clock);
    expect(reopened.emit(sampleFields('acme', 25)).seq).toBe(25);
    await reopened.flush();
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 26 });
  });

  it('after a failed commit rejects those receipts and refuses to write more, so the chain cannot skip', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
    ledger.failNextAppend(new Error('store unavailable'));
    const a = writer.emit(sampleFields('acme', 0));
    await expect(a.durable).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: true });
    expect(() => writer.emit(sampleFields('acme', 1))).toThrow(GovernorError);
  });

  it('a writer whose spool died (no file descriptors) is failed, alerts, and is reopened at the durable head: the chain continues contiguous', async () => {
    const ledger = new MemoryLedger();
    const spool = new MemorySpool();
    const alerts: { code: string }[] = [];
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, {
      spool,
      alerts: { alert: (a) => void alerts.push(a) },
    });
    await writer.emit(sampleFields('acme', 0)).durable;
    // The store times out, and the spool cannot open a file either.
    ledger.failNextAppend(new Error('deadline exceeded'));
    const append = spool.append.bind(spool);
    spool.append = () =>
      Promise.reject(Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' }));
    await expect(writer.emit(sampleFields('acme', 1)).durable).rejects.toThrow('EMFILE');
    expect(writer.isFailed).toBe(true);
    expect(() => writer.emit(sampleFields('acme', 2))).toThrow(GovernorError);
    expect(alerts.map((a) => a.code)).toEqual(['CHAIN_WRITER_FAILED']);

    spool.append = append;
    expect(await writer.reopen()).toBe(true);
    expect(writer.isFailed).toBe(false);
    const next = writer.emit(sampleFields('acme', 1));
    expect(next.seq).toBe(1);
    await next.durable;
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 2 });
    // Not failed: nothing to reopen.
    expect(await writer.reopen()).toBe(false);
  });

  it('a second writer of the same chain fails with a conflict instead of forking', async () => {
    const ledger = new MemoryLedger();
    const first = await ChainWriter.open('tenants/acme', ledger, key, clock);
    const second = await ChainWriter.open('tenants/acme', ledger, key, clock);
    await first.emit(sampleFields('acme', 0)).durable;
    await expect(second.emit(sampleFields('acme', 0)).durable).rejects.toMatchObject({
      code: 'LEDGER_CONFLICT',
      retryable: false,
    });
    expect((await ledger.head('tenants/acme'))?.size).toBe(1);
  });
});

describe('ChainWriter with a spool (safe mode)', () => {
  it('spools while the ledger is unavailable and flushes in order on recovery: the chain stays contiguous', async () => {
    const ledger = new MemoryLedger();
    const spool = new MemorySpool();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    await writer.emit(sampleFields('acme', 0)).durable;
    ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    await writer.emit(sampleFields('acme', 1)).durable;
    expect(writer.isSpooling).toBe(true);
    await writer.emit(sampleFields('acme', 2)).durable;
    expect((await ledger.head('tenants/acme'))?.size).toBe(1);
    expect(writer.spooled).toBe(2);

    // A restart while spooling continues after the spooled receipts.
    const restarted = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    expect(restarted.size).toBe(3);
    expect(await restarted.recover()).toBe(2);
    await restarted.emit(sampleFields('acme', 3)).durable;
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 4 });
  });

  it('a spool flushed before a crash could clear it is cleared on open, so the next outage spools cleanly', async () => {
    const ledger = new MemoryLedger();
    const spool = new MemorySpool();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    await writer.emit(sampleFields('acme', 0)).durable;
    // recover() appended to the ledger, then the process died before spool.clear().
    const held = await spool.pending('tenants/acme');
    await ledger.append('tenants/acme', held?.entries ?? [], held!.head);
    const reopened = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    expect(reopened.isSpooling).toBe(false);
    expect(await spool.pending('tenants/acme')).toBeNull();
    await reopened.emit(sampleFields('acme', 1)).durable;
    expect((await ledger.head('tenants/acme'))?.size).toBe(2);
  });
});

describe('ChainWriter recovery after an ambiguous commit', () => {
  it('a commit that timed out but landed is not written twice: recovery appends only what is missing', async () => {
    const ledger = new MemoryLedger();
    const spool = new MemorySpool();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    await writer.emit(sampleFields('acme', 0)).durable;
    ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'), { lands: true });
    await writer.emit(sampleFields('acme', 1)).durable;
    await writer.emit(sampleFields('acme', 2)).durable;
    expect((await ledger.head('tenants/acme'))?.size).toBe(2);
    expect(await writer.recover()).toBe(2);
    await writer.emit(sampleFields('acme', 3)).durable;
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect(await verifyLines(lines, { keyring, threads: 0 })).toMatchObject({ ok: true, count: 4 });
  });

  it('seqs filled by another writer while spooling are a conflict, and nothing of the spool is written', async () => {
    const ledger = new MemoryLedger();
    const spool = new MemorySpool();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    await writer.emit(sampleFields('acme', 0)).durable;
    const other = await ChainWriter.open('tenants/acme', ledger, key, clock);
    await other.emit(sampleFields('acme', 9)).durable;
    await expect(writer.recover()).rejects.toMatchObject({ code: 'LEDGER_CONFLICT', retryable: false });
    expect((await ledger.head('tenants/acme'))?.size).toBe(1);
  });
});

describe('ChainWriter checkpoints', () => {
  it('stores a signed checkpoint each time the chain crosses a multiple of checkpointEvery, and it verifies', async () => {
    const ledger = new MemoryLedger();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, {
      checkpointEvery: 10,
      maxBatch: 4,
    });
    await Promise.all(Array.from({ length: 25 }, (_, i) => writer.emit(sampleFields('acme', i)).durable));
    expect(ledger.checkpointsOf('tenants/acme').map((c) => c.size)).toEqual([12, 20]);
    const lines: string[] = [];
    for await (const r of ledger.read('tenants/acme')) lines.push(JSON.stringify(r));
    expect(
      await verifyLines(lines, {
        keyring,
        threads: 0,
        checkpoints: ledger.checkpointsOf('tenants/acme').map((c) => c.note),
      }),
    ).toMatchObject({ ok: true, checkpoints_verified: 2 });
  });

  it('witnesses every checkpoint; a failing witness is alerted and does not fail the commit', async () => {
    const ledger = new MemoryLedger();
    const witnessed: number[] = [];
    const alerts: string[] = [];
    let failing = false;
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, {
      checkpointEvery: 5,
      witness: {
        witness: (_chain, size) => {
          if (failing) return Promise.reject(new Error('bucket unreachable'));
          witnessed.push(size);
          return Promise.resolve();
        },
        latest: () => Promise.resolve(null),
      },
      alerts: { alert: (a) => alerts.push(a.code) },
    });
    await Promise.all(Array.from({ length: 5 }, (_, i) => writer.emit(sampleFields('acme', i)).durable));
    failing = true;
    await Promise.all(Array.from({ length: 5 }, (_, i) => writer.emit(sampleFields('acme', 5 + i)).durable));
    expect(witnessed).toEqual([5]);
    expect(alerts).toEqual(['CHECKPOINT_FAILED']);
    expect((await ledger.head('tenants/acme'))?.size).toBe(10);
    expect(writer.isSpooling).toBe(false);
  });
});

/** A ledger that takes at most `maxWritesPerAppend` writes an append, and notes each append. */
class LimitedLedger extends MemoryLedger {
  readonly appends: { readonly first: number; readonly count: number; readonly at: number }[] = [];
  constructor(
    readonly maxWritesPerAppend: number,
    private readonly now: () => number = () => 0,
  ) {
    super();
  }

  override append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    if (writesOf(entries) > this.maxWritesPerAppend)
      return Promise.reject(new Error(`${writesOf(entries)} writes: more than one append takes`));
    this.appends.push({ first: entries[0]?.seq ?? -1, count: entries.length, at: this.now() });
    return super.append(chain, entries, head);
  }
}

async function verifiedCount(ledger: MemoryLedger, chain = 'tenants/acme'): Promise<number> {
  const lines: string[] = [];
  for await (const r of ledger.read(chain)) lines.push(JSON.stringify(r));
  const verified = await verifyLines(lines, { keyring, threads: 0 });
  expect(verified.ok).toBe(true);
  return verified.count;
}

describe("ChainWriter within the ledger's append limit", () => {
  it('1,000 emits in one turn become appends of at most the limit, in seq order, and the chain verifies', async () => {
    const ledger = new LimitedLedger(8);
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
    const emitted = Array.from({ length: 1000 }, (_, i) => writer.emit(sampleFields('acme', i)));
    await Promise.all(emitted.map((e) => e.durable));
    expect(Math.max(...ledger.appends.map((a) => a.count))).toBe(7);
    expect(ledger.appends).toHaveLength(Math.ceil(1000 / 7));
    let next = 0;
    for (const a of ledger.appends) {
      expect(a.first).toBe(next);
      next += a.count;
    }
    expect(next).toBe(1000);
    expect(await verifiedCount(ledger)).toBe(1000);
  });

  it('an entry carrying an action log entry counts two writes: appends stay within the limit', async () => {
    const ledger = new LimitedLedger(8);
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock);
    const action = (i: number) => ({
      action_id: `s${i}-a0`,
      kind: 'noop',
      signal_id: `s${i}`,
      state: 'complete' as const,
      deadline_at: 0,
      recoverable: true,
    });
    // Every other receipt settles an action: seqs 0-4 make 8 writes with the head, 5-8 make 7
    // (seq 9 would make 9), and seq 9 goes alone.
    await Promise.all(
      Array.from(
        { length: 10 },
        (_, i) => writer.emit(sampleFields('acme', i), i % 2 ? action(i) : undefined).durable,
      ),
    );
    expect(ledger.appends.map((a) => a.count)).toEqual([5, 4, 1]);
    expect(ledger.actionLog('tenants/acme').map((e) => e.action_id)).toEqual([
      's1-a0',
      's3-a0',
      's5-a0',
      's7-a0',
      's9-a0',
    ]);
    expect(await verifiedCount(ledger)).toBe(10);
  });

  it('a smaller maxBatch than the limit still applies', async () => {
    const ledger = new LimitedLedger(8);
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { maxBatch: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => writer.emit(sampleFields('acme', i)).durable));
    expect(ledger.appends.map((a) => a.count)).toEqual([3, 3, 3, 1]);
  });

  it('a spool longer than the limit is flushed on recovery in appends of at most the limit', async () => {
    const ledger = new LimitedLedger(8);
    const spool = new MemorySpool();
    const writer = await ChainWriter.open('tenants/acme', ledger, key, clock, { spool });
    await writer.emit(sampleFields('acme', 0)).durable;
    ledger.failNextAppend(new Error('DEADLINE_EXCEEDED'));
    for (let i = 1; i <= 20; i++) await writer.emit(sampleFields('acme', i)).durable;
    expect(writer.spooled).toBe(20);
    const before = ledger.appends.length;
    expect(await writer.recover()).toBe(20);
    expect(ledger.appends.slice(before).map((a) => a.count)).toEqual([7, 7, 6]);
    expect(await verifiedCount(ledger)).toBe(21);
  });
});

/** Simulated time from when the test key is valid. */
const T0 = Date.parse('2026-11-23T10:00:00.000Z');
function startedClock(): TestClock {
  const testClock = new TestClock();
  testClock.set(T0);
  return testClock;
}

describe('ChainWriter commit pacing (minCommitIntervalMs)', () => {
  it('emits spread over 1 s commit about once per interval, never closer than the interval', async () => {
    const testClock = startedClock();
    const ledger = new LimitedLedger(500, () => testClock.now());
    const writer = await ChainWriter.open('tenants/acme', ledger, key, testClock, {
      minCommitIntervalMs: 100,
    });
    const emitted: Promise<void>[] = [];
    for (let i = 0; i < 100; i++) {
      emitted.push(writer.emit(sampleFields('acme', i)).durable);
      await advance(testClock, 10, 10);
    }
    await advance(testClock, 200, 10);
    await Promise.all(emitted);
    const times = ledger.appends.map((a) => a.at - T0);
    expect(times.length).toBeGreaterThanOrEqual(10);
    expect(times.length).toBeLessThanOrEqual(11);
    for (let i = 1; i < times.length; i++)
      expect((times[i] as number) - (times[i - 1] as number)).toBeGreaterThanOrEqual(100);
    expect(ledger.appends.reduce((n, a) => n + a.count, 0)).toBe(100);
    expect(await verifiedCount(ledger)).toBe(100);
  });

  it('a burst larger than one append commits one append per interval', async () => {
    const testClock = startedClock();
    const ledger = new LimitedLedger(8, () => testClock.now());
    const writer = await ChainWriter.open('tenants/acme', ledger, key, testClock, {
      minCommitIntervalMs: 100,
    });
    const emitted = Array.from({ length: 20 }, (_, i) => writer.emit(sampleFields('acme', i)).durable);
    await settle();
    await advance(testClock, 300, 10);
    await Promise.all(emitted);
    expect(ledger.appends.map((a) => [a.at - T0, a.count])).toEqual([
      [0, 7],
      [100, 7],
      [200, 6],
    ]);
  });

  it('flush() commits at once, whatever the interval', async () => {
    const testClock = startedClock();
    const ledger = new LimitedLedger(500, () => testClock.now());
    const writer = await ChainWriter.open('tenants/acme', ledger, key, testClock, {
      minCommitIntervalMs: 100,
    });
    await settle();
    await writer.emit(sampleFields('acme', 0)).durable;
    writer.emit(sampleFields('acme', 1));
    await writer.flush();
    expect(ledger.appends.map((a) => a.at - T0)).toEqual([0, 0]);
    expect((await ledger.head('tenants/acme'))?.size).toBe(2);
  });

  it('without an interval no timer is set: each turn commits', async () => {
    const testClock = startedClock();
    const ledger = new LimitedLedger(500, () => testClock.now());
    const writer = await ChainWriter.open('tenants/acme', ledger, key, testClock);
    await writer.emit(sampleFields('acme', 0)).durable;
    await writer.emit(sampleFields('acme', 1)).durable;
    expect(testClock.pending()).toEqual([]);
    expect(ledger.appends.map((a) => a.count)).toEqual([1, 1]);
  });
});
