import type { StoredReceipt } from '@governor/contracts';
import { emptyHead } from '@governor/receipts';
import { HeadBuilder, sameHead } from '../head-builder';
import { batch } from './support';

describe('HeadBuilder', () => {
  it('re-derives the head record by record, as the writer computed it', () => {
    const built = batch(4);
    const builder = new HeadBuilder(emptyHead('tenants/acme'));
    for (const entry of built.entries) expect(builder.push(entry.record)).toBeNull();
    expect(builder.size).toBe(4);
    expect(builder.head).toEqual(built.head);
  });

  const first = batch(1).entries[0]!.record;
  const body = JSON.parse(first.body) as Record<string, unknown>;
  const withBody = (fields: Record<string, unknown>): StoredReceipt => ({
    ...first,
    body: JSON.stringify({ ...body, ...fields }),
  });
  it.each<[string, StoredReceipt, 'link' | 'malformed', RegExp]>([
    ['a body that is not JSON', { ...first, body: '{' }, 'malformed', /not JSON/],
    ['the wrong seq', withBody({ seq: 1 }), 'malformed', /expected seq 0/],
    ['another chain', withBody({ chain: 'tenants/globex' }), 'malformed', /names chain/],
    ['no timestamp', withBody({ timestamp: 7 }), 'malformed', /no timestamp/],
    ['a prev_hash that is not the head hash', withBody({ prev_hash: 'ab'.repeat(32) }), 'link', /prev_hash/],
    [
      'a leaf_hash that is not the hash of the body',
      { ...first, leaf_hash: '00'.repeat(32) },
      'malformed',
      /leaf_hash/,
    ],
  ])('reports %s and stays where it was', (_name, record, kind, detail) => {
    const builder = new HeadBuilder(emptyHead('tenants/acme'));
    const problem = builder.push(record);
    expect(problem?.kind).toBe(kind);
    expect(problem?.detail).toMatch(detail);
    expect(builder.head).toEqual(emptyHead('tenants/acme'));
  });
});

describe('sameHead', () => {
  const head = batch(3).head;
  it.each([
    ['the same head', head, true],
    ['a copy', { ...head, tree: { ...head.tree, roots: [...head.tree.roots] } }, true],
    ['another chain', { ...head, chain: 'tenants/globex' }, false],
    ['another size', { ...head, size: 4 }, false],
    ['another head hash', { ...head, head_hash: '00'.repeat(32) }, false],
    ['another timestamp', { ...head, last_timestamp: null }, false],
    [
      'another tree root',
      { ...head, tree: { ...head.tree, roots: ['00'.repeat(32), ...head.tree.roots.slice(1)] } },
      false,
    ],
    ['a tree of another size', { ...head, tree: { ...head.tree, size: 2 } }, false],
  ])('compares %s: %p', (_name, other, same) => {
    expect(sameHead(head, other)).toBe(same);
  });
});
