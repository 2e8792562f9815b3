import { rm } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { GovernorError, storedRecord, type LedgerEntry, type ReceiptSpool } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';
import { chainDirectory } from './chain-directory';
import { DurableDirectories } from './durable-dirs';
import { appendDurably, fsyncDirectory, isErrno, sizeOf, truncateDurably } from './durable-fs';
import { readHeadFile, writeHeadFile, type Committed } from './head-file';
import { KeyedMutex } from './keyed-mutex';
import { readLines } from './line-reader';
import { actionEntryProblem, parseActionEntry } from './action-entry';
import { parseRecordLine } from './records';

const SPOOL = 'spool.jsonl';
const HEAD = 'head.json';

function reasonOf(cause: unknown): string {
  return typeof cause === 'object' && cause !== null && typeof (cause as Error).message === 'string'
    ? (cause as Error).message
    : String(cause);
}

/** A spool failure: retryable for I/O, not for a refused batch or files that contradict each other. */
function spoolFailed(message: string, retryable: boolean, cause?: unknown): GovernorError {
  return new GovernorError('SPOOL_FAILED', message, retryable, cause === undefined ? {} : { cause });
}

/** Every failure as SPOOL_FAILED, keeping whether it is retryable; spool refusals pass through. */
function asSpoolError(what: string, cause: unknown): GovernorError {
  if (cause instanceof GovernorError)
    return cause.code === 'SPOOL_FAILED'
      ? cause
      : spoolFailed(`${what}: ${cause.message}`, cause.retryable, cause);
  return spoolFailed(`${what}: ${reasonOf(cause)}`, true, cause);
}

function spoolLine({ seq, record, action }: LedgerEntry): string {
  const line = action ? { seq, record: storedRecord(record), action } : { seq, record: storedRecord(record) };
  return `${JSON.stringify(line)}\n`;
}

function parseSpoolLine(text: string): LedgerEntry | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const { seq, record, action } = value as { seq?: unknown; record?: unknown; action?: unknown };
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return 'seq is not a seq';
  const parsed = parseRecordLine(JSON.stringify(record ?? null));
  if (typeof parsed === 'string') return `record is ${parsed}`;
  if (action === undefined) return { seq, record: parsed };
  const entry = parseActionEntry(action);
  if (typeof entry === 'string') return `action is ${entry}`;
  return { seq, record: parsed, action: entry };
}

/** Why `entries` + `head` is not a well-formed batch of `chain`, or null. */
function batchProblem(chain: string, entries: readonly LedgerEntry[], head: ChainHead): string | null {
  const first = entries[0];
  if (first === undefined) return 'the batch is empty';
  if (head.chain !== chain) return `the head is of chain ${head.chain}`;
  for (const [i, entry] of entries.entries()) {
    if (entry.seq !== first.seq + i)
      return `seq ${entry.seq} at position ${i} of a batch starting at ${first.seq}`;
    const problem = entry.action ? actionEntryProblem(entry.action) : null;
    if (problem !== null) return `the action of seq ${entry.seq} is not storable: ${problem}`;
  }
  if (head.size !== first.seq + entries.length)
    return `the head (size ${head.size}) is not the head after seq ${first.seq + entries.length - 1}`;
  return null;
}

/**
 * The durable receipt spool of the embedded deployment: where receipts go while the ledger is
 * unavailable (safe mode), so that chains stay contiguous across the outage.
 *
 * Per chain, `<root>/{tenants|workers}/{owner}/spool.jsonl` holds one `{"seq", "record"}` line per
 * receipt (with `"action"` when the entry carries the action log entry it settles, so a flush
 * appends it with its receipt), appended and fsynced, and `head.json` beside it commits the head after the last one and
 * the length of `spool.jsonl` it covers (same format as the FileLedger's head file), replaced by
 * atomic rename. `append` resolves only once both are durable, so the spool survives a crash or a
 * restart; bytes past the committed length are a batch whose append never resolved, and are cut
 * off by the next append. `clear` removes the head first (the commit point), then the rest.
 *
 * A batch must continue what the chain's spool holds (contiguous seqs, first seq = held head size,
 * `head` = the head after it); otherwise nothing is written and the append fails. Appends and reads
 * of a chain are serialised in-process; one process owns a spool root (chains are lease-owned).
 *
 * Failures are GovernorErrors with code `SPOOL_FAILED`: retryable for I/O, not for a refused
 * batch or a corrupt spool.
 */
export class FileSpool implements ReceiptSpool {
  /** Absolute path of the spool's root directory. */
  readonly root: string;
  private readonly dirs: DurableDirectories;
  private readonly mutex = new KeyedMutex();

  /** A spool rooted at `root`; directories are created on the first append. */
  constructor(root: string) {
    this.root = resolve(root);
    this.dirs = new DurableDirectories(this.root);
  }

  async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const dir = this.directoryOf(chain);
    const problem = batchProblem(chain, entries, head);
    if (problem !== null) throw spoolFailed(`cannot spool this batch for ${chain}: ${problem}`, false);
    const first = (entries[0] as LedgerEntry).seq;
    await this.mutex.run(chain, async () => {
      const file = join(dir, SPOOL);
      const headFile = join(dir, HEAD);
      let committed: Committed;
      try {
        await this.dirs.ensure(dir);
        committed = await this.committed(chain, dir);
      } catch (e) {
        throw asSpoolError(`spooling for ${chain}`, e);
      }
      if (committed.head !== null && first !== committed.head.size)
        throw spoolFailed(
          `cannot spool seqs ${first}.. for ${chain}: the spool holds seqs up to ${committed.head.size - 1}`,
          false,
        );
      const data = Buffer.from(entries.map(spoolLine).join(''), 'utf8');
      const length = committed.receipts_bytes + data.length;
      // Nothing of a failed append may stay committed-looking; the next append would cut it anyway.
      const undo = async (e: unknown): Promise<never> => {
        await truncateDurably(file, committed.receipts_bytes).catch(() => undefined);
        throw asSpoolError(`spooling for ${chain}`, e);
      };
      try {
        await appendDurably(file, data);
      } catch (e) {
        await undo(e);
      }
      try {
        await writeHeadFile(headFile, { head, receipts_bytes: length });
      } catch (e) {
        const now = await readHeadFile(headFile, chain).catch(() => null);
        // Renamed into place and only the directory fsync failed: the head is visible, and the
        // spooled lines are fsynced. Like the FileLedger, count the batch as spooled.
        if (now?.receipts_bytes !== length) await undo(e);
      }
    });
  }

  async pending(chain: string): Promise<{ entries: LedgerEntry[]; head: ChainHead } | null> {
    const dir = this.directoryOf(chain);
    return this.mutex.run(chain, async () => {
      try {
        const committed = await readHeadFile(join(dir, HEAD), chain);
        if (committed.head === null) return null;
        const head = committed.head;
        const file = join(dir, SPOOL);
        const entries: LedgerEntry[] = [];
        for await (const line of readLines(file, 0, committed.receipts_bytes)) {
          const entry = line.complete ? parseSpoolLine(line.text) : 'a torn line';
          if (typeof entry === 'string')
            throw spoolFailed(`${file}: line at byte ${line.start} is ${entry}`, false);
          const previous = entries[entries.length - 1];
          if (previous !== undefined && entry.seq !== previous.seq + 1)
            throw spoolFailed(`${file}: seq ${entry.seq} follows seq ${previous.seq}`, false);
          entries.push(entry);
        }
        const last = entries[entries.length - 1];
        if (last?.seq !== head.size - 1)
          throw spoolFailed(
            `${file}: spooled seqs end at ${last?.seq ?? 'nothing'}, but ${HEAD} is at size ${head.size}`,
            false,
          );
        return { entries, head };
      } catch (e) {
        throw asSpoolError(`reading the spool of ${chain}`, e);
      }
    });
  }

  async clear(chain: string): Promise<void> {
    const dir = this.directoryOf(chain);
    await this.mutex.run(chain, async () => {
      try {
        // Without its head nothing is spooled, whatever else is left if this is cut short.
        await rm(join(dir, HEAD), { force: true });
        await fsyncIfPresent(dir);
        await rm(dir, { recursive: true, force: true });
        this.dirs.forget(dir);
        await fsyncIfPresent(dirname(dir));
      } catch (e) {
        throw asSpoolError(`clearing the spool of ${chain}`, e);
      }
    });
  }

  private directoryOf(chain: string): string {
    try {
      return chainDirectory(this.root, chain);
    } catch (e) {
      throw asSpoolError(`spool of ${JSON.stringify(chain)}`, e);
    }
  }

  /** The committed state, after cutting off what an append that never resolved left behind. */
  private async committed(chain: string, dir: string): Promise<Committed> {
    const committed = await readHeadFile(join(dir, HEAD), chain);
    const file = join(dir, SPOOL);
    const length = (await sizeOf(file)) ?? 0;
    if (length < committed.receipts_bytes)
      throw spoolFailed(`${file} has ${length} bytes but ${HEAD} commits ${committed.receipts_bytes}`, false);
    if (length > committed.receipts_bytes) await truncateDurably(file, committed.receipts_bytes);
    return committed;
  }
}

async function fsyncIfPresent(dir: string): Promise<void> {
  try {
    await fsyncDirectory(dir);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
