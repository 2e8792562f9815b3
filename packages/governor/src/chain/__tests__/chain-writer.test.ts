import { Keyring, SigningKey, sampleFields, verifyLines } from '@governor/receipts';
import { ChainWriter } from '../chain-writer';
import { GovernorError } from '../../errors';
import { MemoryLedger, MemorySpool } from '../../testing';

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
