import { GovernorError } from '@governor/governor';
import { SigningKey } from '@governor/receipts';
import { buildEntries, collect, describeReceiptLedgerContract } from '../../index';
import { MemoryLedger } from '@governor/governor/testing';

describeReceiptLedgerContract('MemoryLedger', () => {
  const ledger = new MemoryLedger();
  // Another client of the same in-memory store, with claims of its own.
  return Promise.resolve({
    ledger,
    peer: () => Promise.resolve(ledger.connect()),
    cleanup: () => Promise.resolve(),
  });
});

describe('MemoryLedger', () => {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 3));

  it('fails every call with a retryable LEDGER_UNAVAILABLE during an outage, and keeps its data', async () => {
    const ledger = new MemoryLedger();
    const built = buildEntries('tenants/acme', 3, key);
    await ledger.append('tenants/acme', built.entries, built.head);

    ledger.setOutage('simulated outage');
    const unavailable = { code: 'LEDGER_UNAVAILABLE', retryable: true };
    await expect(ledger.probe()).rejects.toMatchObject(unavailable);
    await expect(ledger.head('tenants/acme')).rejects.toBeInstanceOf(GovernorError);
    await expect(collect(ledger.read('tenants/acme'))).rejects.toMatchObject(unavailable);
    const next = buildEntries('tenants/acme', 1, key, built.head);
    await expect(ledger.append('tenants/acme', next.entries, next.head)).rejects.toMatchObject(unavailable);

    ledger.setOutage(null);
    await expect(ledger.probe()).resolves.toBeUndefined();
    expect(await ledger.head('tenants/acme')).toEqual(built.head);
  });

  it('clients from connect() share the store but not their claims or outages', async () => {
    const first = new MemoryLedger();
    const second = first.connect();
    const built = buildEntries('tenants/acme', 2, key);
    await first.claim('tenants/acme', 1);
    await second.append('tenants/acme', built.entries, built.head);
    expect(await first.head('tenants/acme')).toEqual(built.head);
    second.setOutage('partitioned');
    await expect(first.probe()).resolves.toBeUndefined();
    await expect(second.claim('tenants/acme', 2)).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE' });
    second.setOutage(null);
    await second.claim('tenants/acme', 2);
    const next = buildEntries('tenants/acme', 1, key, built.head);
    await expect(first.append('tenants/acme', next.entries, next.head)).rejects.toMatchObject({
      code: 'LEDGER_FENCED',
      retryable: false,
    });
  });

  it('refuses chain ids that are not tenants/{id} or workers/{id}', async () => {
    const ledger = new MemoryLedger();
    await expect(ledger.head('acme')).rejects.toMatchObject({ code: 'LEDGER_UNAVAILABLE', retryable: false });
    await expect(ledger.latestCheckpoint('tenants/../x')).rejects.toBeInstanceOf(GovernorError);
  });

  it('returns copies: changing what it returned does not change what it stores', async () => {
    const ledger = new MemoryLedger();
    const built = buildEntries('tenants/acme', 2, key);
    await ledger.append('tenants/acme', built.entries, built.head);
    const head = await ledger.head('tenants/acme');
    head?.tree.roots.push('00');
    const [first] = await collect(ledger.read('tenants/acme'));
    if (first) first.body = '{}';
    expect(await ledger.head('tenants/acme')).toEqual(built.head);
    expect((await collect(ledger.read('tenants/acme')))[0]?.body).toBe(built.entries[0]?.record.body);
  });
});
