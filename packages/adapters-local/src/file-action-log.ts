import type { ActionLogEntry } from '@governor/governor';
import { parseActionEntry, actionEntryProblem } from './action-entry';
import { sizeOf, truncateDurably } from './durable-fs';
import { corrupt, invalidArgument, unavailable } from './errors';
import { KeyedMutex } from './keyed-mutex';
import { readLines } from './line-reader';

// A chain's action log: `actions.jsonl` beside its receipts, one line per write of an entry, the
// latest line of an action_id being its entry. A line written by an append carries the seq of
// the receipt it rides with: that is how recovery tells the lines of an append that never
// committed (its receipts are not in the chain) from those of one that did.

export const ACTIONS = 'actions.jsonl';

interface ActionLine {
  readonly action: ActionLogEntry;
  /** The seq of the receipt the line was appended with; absent for a write-ahead or a put. */
  readonly seq?: number;
}

/** One line of `actions.jsonl`, with its newline. */
export function actionLine(action: ActionLogEntry, seq?: number): string {
  return `${JSON.stringify(seq === undefined ? { action } : { seq, action })}\n`;
}

function parseActionLine(text: string): ActionLine | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { seq, action } = value as { seq?: unknown; action?: unknown };
  if (seq !== undefined && (!Number.isSafeInteger(seq) || (seq as number) < 0)) return 'seq is not a seq';
  const entry = parseActionEntry(action);
  if (typeof entry === 'string') return `action is ${entry}`;
  return seq === undefined ? { action: entry } : { action: entry, seq: seq as number };
}

/** Refuses, before anything is written, entries that could not be read back. */
export function checkActions(chain: string, entries: readonly ActionLogEntry[]): void {
  for (const entry of entries) {
    const problem = actionEntryProblem(entry);
    if (problem !== null)
      throw invalidArgument(
        `${chain}: action ${JSON.stringify(entry.action_id)} cannot be stored: ${problem}`,
      );
  }
}

/**
 * Under the chain's lock, once its receipts are recovered to `size`: the length of the action
 * log that is committed, the file cut back to it. Complete lines past `committedBytes` are kept
 * when they are a write-ahead or a put (no seq: written whole and fsynced before the head that
 * would have committed them) or ride with a receipt now in the chain; from the first line of a
 * receipt that is not, the lines are an append that never committed, and go, as does a torn last
 * line. A complete line that is no entry is corruption, left untouched for an operator.
 */
export async function recoverActionLog(file: string, committedBytes: number, size: number): Promise<number> {
  const length = (await sizeOf(file)) ?? 0;
  if (length === committedBytes) return committedBytes;
  if (length < committedBytes)
    throw corrupt(`${file} has ${length} bytes but the head commits ${committedBytes}`);
  let good = committedBytes;
  for await (const line of readLines(file, committedBytes)) {
    if (!line.complete) break;
    const parsed = parseActionLine(line.text);
    if (typeof parsed === 'string')
      throw corrupt(`${file}: uncommitted line at byte ${line.start} is ${parsed}`);
    if (parsed.seq !== undefined && parsed.seq >= size) break;
    good = line.end;
  }
  if (good < length) await truncateDurably(file, good);
  return good;
}

/** What this process has read of one chain's log: its entries as of the first `offset` bytes. */
interface Parsed {
  offset: number;
  readonly entries: Map<string, ActionLogEntry>;
}

/**
 * The action logs of a ledger's chains as far as this process has read them, so a query parses
 * only the lines committed since the last one, whoever wrote them. Committed bytes never change
 * (recovery cuts only past them), so what was parsed stays true.
 */
export class ActionLogs {
  private readonly parsed = new Map<string, Parsed>();
  // Serialises the reading of one chain's file: two reads applying lines out of order would
  // let an older write of an entry win.
  private readonly mutex = new KeyedMutex();

  /** Runs `query` over the chain's log as committed up to `bytes` of `file`, or later. */
  query<T>(
    chain: string,
    file: string,
    bytes: number,
    query: (log: ReadonlyMap<string, ActionLogEntry>) => T,
  ): Promise<T> {
    return this.mutex.run(chain, async () => {
      const parsed = this.parsedOf(chain);
      try {
        for await (const line of readLines(file, parsed.offset, bytes)) {
          const value = line.complete ? parseActionLine(line.text) : 'a torn line';
          if (typeof value === 'string')
            throw corrupt(`${file}: committed line at byte ${line.start} is ${value}`);
          parsed.entries.set(value.action.action_id, value.action);
          parsed.offset = line.end;
        }
      } catch (e) {
        throw unavailable(`reading the action log of ${chain}`, e);
      }
      if (parsed.offset < bytes)
        throw corrupt(`${file} ends at byte ${parsed.offset} but the head commits ${bytes}`);
      return query(parsed.entries);
    });
  }

  /**
   * Learns `entries`, just committed as the bytes from `from` to `to`, without reading them back.
   * If this process has not read up to `from`, the next query reads them from the file instead.
   */
  learn(chain: string, from: number, to: number, entries: readonly ActionLogEntry[]): Promise<void> {
    return this.mutex.run(chain, () => {
      const parsed = this.parsedOf(chain);
      if (parsed.offset === from) {
        for (const e of entries) parsed.entries.set(e.action_id, { ...e });
        parsed.offset = to;
      }
      return Promise.resolve();
    });
  }

  private parsedOf(chain: string): Parsed {
    let parsed = this.parsed.get(chain);
    if (!parsed) this.parsed.set(chain, (parsed = { offset: 0, entries: new Map() }));
    return parsed;
  }
}
