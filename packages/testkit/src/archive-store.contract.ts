import { randomBytes } from 'node:crypto';
import type { ArchiveStore } from '@governor/governor';
import { messageOf, rejectionOf } from './contract-helpers';

/** A fresh, empty archive store for one contract test, and how to dispose of it. */
export interface ArchiveUnderTest {
  readonly archive: ArchiveStore;
  cleanup(): Promise<void>;
  /** Another client of the same store. When given, stored archives are also read through it. */
  readonly reopen?: () => Promise<ArchiveStore>;
}

const NAME = 'acme/2026-11-23.tar.gz';

/**
 * The behaviour every `ArchiveStore` adapter must have, as a jest suite: call it at the top
 * level of the adapter's test file. `make` is called before each test and must return an empty
 * store; `cleanup` after each. Names are `{account_id}/{YYYY-MM-DD}.tar.gz`.
 */
export function describeArchiveStoreContract(name: string, make: () => Promise<ArchiveUnderTest>): void {
  describe(`ArchiveStore contract: ${name}`, () => {
    let subject: ArchiveUnderTest;
    let archive: ArchiveStore;

    beforeEach(async () => {
      subject = await make();
      archive = subject.archive;
    });

    afterEach(async () => {
      await subject.cleanup();
    });

    async function readers(): Promise<ArchiveStore[]> {
      return subject.reopen ? [archive, await subject.reopen()] : [archive];
    }

    it('get of a name never put is null', async () => {
      expect(await archive.get(NAME)).toBeNull();
      expect(await archive.get('nobody/2026-01-01.tar.gz')).toBeNull();
    });

    it('put then get returns the same bytes; the size returned is the byte count', async () => {
      // Every byte value, and more than one read or write chunk.
      const data = Buffer.concat([
        Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
        randomBytes(300_000),
      ]);
      const stored = await archive.put(NAME, data);
      expect(stored.size).toBe(data.length);
      expect(typeof stored.path).toBe('string');
      expect(stored.path.length).toBeGreaterThan(0);
      for (const reader of await readers()) {
        const back = await reader.get(NAME);
        expect(back).not.toBeNull();
        expect(back?.equals(data)).toBe(true);
      }
    });

    it('stores an empty archive as zero bytes', async () => {
      expect((await archive.put(NAME, Buffer.alloc(0))).size).toBe(0);
      expect(await archive.get(NAME)).toEqual(Buffer.alloc(0));
    });

    it('keeps what was put, not the caller buffer it came in', async () => {
      const data = Buffer.from('archive bytes');
      await archive.put(NAME, data);
      data.fill(0);
      expect((await archive.get(NAME))?.toString()).toBe('archive bytes');
    });

    it('put of an existing name fails, names the archive, and leaves the first intact', async () => {
      const first = randomBytes(1000);
      const firstStored = await archive.put(NAME, first);
      const error = await rejectionOf(archive.put(NAME, randomBytes(10)));
      expect(messageOf(error)).toContain(NAME);
      // Even the same bytes again: an archive is written once.
      await expect(archive.put(NAME, first)).rejects.toBeDefined();
      for (const reader of await readers()) expect((await reader.get(NAME))?.equals(first)).toBe(true);
      expect(firstStored.size).toBe(1000);
    });

    it('of two racing puts of one name exactly one succeeds', async () => {
      const a = randomBytes(50_000);
      const b = randomBytes(60_000);
      const outcomes = await Promise.allSettled([archive.put(NAME, a), archive.put(NAME, b)]);
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      expect(won).toHaveLength(1);
      const stored = await archive.get(NAME);
      expect(stored?.equals(won[0] === 0 ? a : b)).toBe(true);
    });

    it('names are independent, and each put reports its own location', async () => {
      const names = ['acme/2026-11-23.tar.gz', 'acme/2026-11-24.tar.gz', 'globex/2026-11-23.tar.gz'];
      const paths = new Set<string>();
      for (const [i, n] of names.entries())
        paths.add((await archive.put(n, Buffer.from(`archive ${i}`))).path);
      expect(paths.size).toBe(names.length);
      for (const reader of await readers()) {
        for (const [i, n] of names.entries()) expect((await reader.get(n))?.toString()).toBe(`archive ${i}`);
      }
    });
  });
}
