import type { StoredReceipt } from '@governor/contracts';
import { checkpointOf, signCheckpoint, verifyLines } from '@governor/receipts';
import { collect, keyringFor, recordLines, TEST_EPOCH } from '../entries';
import { KEY, TENANT, type LedgerContext } from './harness';

/** Checkpoint notes stored beside a chain, and the chain verifying against them. */
export function checkpointsContract(t: LedgerContext): void {
  it('latestCheckpoint is null until one is put, then the note with the largest size', async () => {
    const { ledger } = t;
    expect(await ledger.latestCheckpoint(TENANT)).toBeNull();
    await ledger.putCheckpoint(TENANT, 10, 'note at 10\n');
    expect(await ledger.latestCheckpoint(TENANT)).toBe('note at 10\n');
    await ledger.putCheckpoint(TENANT, 2000, 'note at 2000\n');
    // Numerically largest, not the latest put nor the lexicographically largest.
    await ledger.putCheckpoint(TENANT, 300, 'note at 300\n');
    expect(await ledger.latestCheckpoint(TENANT)).toBe('note at 2000\n');
    expect(await ledger.latestCheckpoint('tenants/globex')).toBeNull();
  });

  it('the stored chain verifies with verifyLines, checkpoint included', async () => {
    const { ledger } = t;
    const { head } = await t.store(TENANT, 1, 17, 40);
    const note = signCheckpoint(checkpointOf(head, new Date(TEST_EPOCH + head.size * 1000)), KEY);
    await ledger.putCheckpoint(TENANT, head.size, note);

    const records: StoredReceipt[] = await collect(ledger.read(TENANT));
    const checkpoint = await ledger.latestCheckpoint(TENANT);
    expect(checkpoint).toBe(note);
    const report = await verifyLines(recordLines(records), {
      keyring: keyringFor(KEY),
      expectedChain: TENANT,
      checkpoints: [checkpoint ?? ''],
      threads: 0,
    });
    expect(report.issues).toEqual([]);
    expect(report).toMatchObject({
      ok: true,
      count: 58,
      first_seq: 0,
      last_seq: 57,
      head_hash: head.head_hash,
      checkpoints_verified: 1,
    });
  });
}
