import type { ChainHead } from '@governor/receipts';
import { readTextIfPresent, writeFileAtomic } from './durable-fs';
import { corrupt } from './errors';

/**
 * What `head.json` commits: the chain head and the length of `receipts.jsonl` at that head.
 * Receipts past `receipts_bytes` are not committed (yet): a writer is between its fsync and its
 * head write, or crashed there. A null head commits no receipt (a chain claimed, or with only
 * action log entries, before its first receipt).
 */
export interface Committed {
  readonly head: ChainHead | null;
  readonly receipts_bytes: number;
  /**
   * The ledger's fencing epoch of the chain: the highest any client has claimed it under.
   * Absent until the first claim.
   */
  readonly fence?: number;
  /**
   * The committed length of the chain's action log (`actions.jsonl`); absent while it is empty,
   * so a chain without actions keeps the head file of earlier versions.
   */
  readonly actions_bytes?: number;
}

/** The committed length of the action log. */
export function actionsBytesOf(committed: Committed): number {
  return committed.actions_bytes ?? 0;
}

export const NOTHING_COMMITTED: Committed = { head: null, receipts_bytes: 0 };

const HEX32 = /^[0-9a-f]{64}$/;

function popcount(n: number): number {
  let count = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) count += v % 2;
  return count;
}

function problemOf(value: unknown, chain: string): string | null {
  if (typeof value !== 'object' || value === null) return 'not a JSON object';
  const {
    head,
    receipts_bytes: bytes,
    fence,
    actions_bytes: actions,
  } = value as {
    head?: Partial<ChainHead> | null;
    receipts_bytes?: unknown;
    fence?: unknown;
    actions_bytes?: unknown;
  };
  if (!Number.isSafeInteger(bytes) || (bytes as number) < 0) return 'receipts_bytes is not a byte count';
  if (fence !== undefined && (!Number.isSafeInteger(fence) || (fence as number) < 0))
    return 'fence is not a fencing epoch';
  if (actions !== undefined && (!Number.isSafeInteger(actions) || (actions as number) < 0))
    return 'actions_bytes is not a byte count';
  // A chain claimed, or given action log entries, before its first receipt.
  if (head === null) return bytes === 0 ? null : 'no head, but receipts_bytes is not 0';
  if (typeof head !== 'object' || head === null) return 'no head';
  if (head.chain !== chain) return `head is of chain ${JSON.stringify(head.chain)}`;
  if (!Number.isSafeInteger(head.size) || (head.size as number) < 1)
    return 'head.size is not a positive count';
  if (typeof head.head_hash !== 'string' || !HEX32.test(head.head_hash))
    return 'head.head_hash is not a hash';
  if (head.last_timestamp !== null && typeof head.last_timestamp !== 'string')
    return 'head.last_timestamp is not a timestamp';
  const tree = head.tree;
  if (typeof tree !== 'object' || tree === null || tree.size !== head.size)
    return 'head.tree.size is not head.size';
  if (
    !Array.isArray(tree.roots) ||
    tree.roots.length !== popcount(tree.size) ||
    !tree.roots.every((r) => typeof r === 'string' && HEX32.test(r))
  )
    return 'head.tree.roots do not fit a tree of that size';
  return null;
}

/** Reads `head.json`; a missing file commits nothing, an unreadable one is corruption. */
export async function readHeadFile(path: string, chain: string): Promise<Committed> {
  const text = await readTextIfPresent(path);
  if (text === null) return NOTHING_COMMITTED;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(`${path}: not JSON`, e);
  }
  const problem = problemOf(value, chain);
  if (problem !== null) throw corrupt(`${path}: ${problem}`);
  const { head, receipts_bytes, fence, actions_bytes } = value as {
    head: ChainHead | null;
    receipts_bytes: number;
    fence?: number;
    actions_bytes?: number;
  };
  return {
    head:
      head === null
        ? null
        : {
            chain: head.chain,
            size: head.size,
            head_hash: head.head_hash,
            last_timestamp: head.last_timestamp,
            tree: { size: head.tree.size, roots: [...head.tree.roots] },
          },
    receipts_bytes,
    ...(fence === undefined ? {} : { fence }),
    ...(actions_bytes === undefined || actions_bytes === 0 ? {} : { actions_bytes }),
  };
}

export async function writeHeadFile(path: string, committed: Committed): Promise<void> {
  const { actions_bytes, ...rest } = committed;
  const stored = actions_bytes === undefined || actions_bytes === 0 ? rest : { ...rest, actions_bytes };
  await writeFileAtomic(path, `${JSON.stringify(stored, null, 2)}\n`);
}
