import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import type { StoredReceipt } from '@governor/contracts';
import {
  actionsOf,
  checkEpoch,
  checkFence,
  HeadBuilder,
  planAppend,
  planClaim,
  planStartActions,
  type ActionLogEntry,
  type LedgerEntry,
  type ReceiptLedger,
} from '@governor/governor';
import { emptyHead, type ChainHead } from '@governor/receipts';
import { commitWrites, type Write } from './chain-commit';
import { chainDirectory } from './chain-directory';
import { isErrno, readTextIfPresent, sizeOf, truncateDurably, writeFileAtomic } from './durable-fs';
import { corrupt, invalidArgument, unavailable } from './errors';
import { ACTIONS, ActionLogs, actionLine, checkActions, recoverActionLog } from './file-action-log';
import { actionsBytesOf, readHeadFile, writeHeadFile, type Committed } from './head-file';
import { KeyedMutex } from './keyed-mutex';
import { LineIndex } from './line-index';
import { LockFile } from './lock-file';
import { readLines } from './line-reader';
import { parseRecordLine, recordLine } from './records';

const RECEIPTS = 'receipts.jsonl';
const HEAD = 'head.json';
const LOCK = 'append.lock';
const CHECKPOINTS = 'checkpoints';
const NOTE = /^(0|[1-9][0-9]*)\.note$/;

/** Options of a FileLedger. */
export interface FileLedgerOptions {
  /** How long an append waits for another process's lock on the same chain. Default 10 s. */
  readonly lockTimeoutMs?: number;
}

/**
 * The durable ledger of the embedded deployment: plain files under one root directory.
 *
 * `<root>/<kind>/<owner>/receipts.jsonl` holds one stored record per line, appended and fsynced
 * before `append` resolves; `head.json` beside it commits the head (and the file length it
 * covers) by atomic rename. One append per chain at a time: an in-process mutex, then a lock
 * file (`append.lock`, created with `wx`, naming its pid) against other processes, and the
 * stored head is re-read under both, so a seq is created at most once.
 *
 * Crash recovery happens whenever the files disagree and the lock is held: complete lines past
 * the committed head are checked (seq, link, leaf hash) and become the head; a torn last line is
 * cut off. So a batch whose append never resolved may survive a crash whole or as a prefix:
 * either way the chain stays contiguous and verifiable. Reads stream the file and stop at the
 * committed length, so an append in flight is never seen in part.
 *
 * The chain's action log is `actions.jsonl` beside its receipts, one `{"seq"?, "action"}` line
 * per write of an entry (the latest line of an action_id wins), committed by the same head
 * file as `actions_bytes`. `startActions` and `putActions` append their lines under the chain's
 * locks (the existence check of `startActions` reads the log there, so an action is created once
 * also across processes). An append writes the lines of the entries it carries first, each with
 * the seq of its receipt, fsyncs them, then the receipts, then the head: after a crash, recovery
 * keeps the lines of the receipts it keeps and cuts those of the receipts it cuts, so a receipt
 * and the log state it implies are never apart. Reads of the log see only committed lines, parsed
 * once per process and then from where the last read stopped.
 *
 * Fencing: `claim` stores the chain's fence (the highest claimed epoch) in `head.json`, under
 * the same locks, and every append of a client that claimed the chain checks it there before
 * writing, so a claim by another process fences this one's next append.
 *
 * Checkpoints are `checkpoints/{size}.note`, replaced atomically if put twice; `probe()` writes,
 * fsyncs and reads back a file under `<root>/health/`.
 */
export class FileLedger implements ReceiptLedger {
  private readonly mutex = new KeyedMutex();
  private readonly indexes = new Map<string, LineIndex>();
  /** The epoch this client claimed each chain under; chains it never claimed append unfenced. */
  private readonly claims = new Map<string, number>();
  private readonly actions = new ActionLogs();
  private readonly lockTimeoutMs: number;

  private constructor(
    /** Absolute path of the ledger's root directory. */
    readonly root: string,
    options: FileLedgerOptions,
  ) {
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
  }

  /** Opens (creating if needed) the ledger rooted at `root`. */
  static async open(root: string, options: FileLedgerOptions = {}): Promise<FileLedger> {
    const absolute = resolve(root);
    try {
      await mkdir(absolute, { recursive: true });
    } catch (e) {
      throw unavailable(`cannot create ledger root ${absolute}`, e);
    }
    return new FileLedger(absolute, options);
  }

  async head(chain: string): Promise<ChainHead | null> {
    return (await this.committed(chain)).head;
  }

  async claim(chain: string, epoch: number): Promise<void> {
    const dir = chainDirectory(this.root, chain);
    checkEpoch(chain, epoch);
    await this.makeDirectory(dir);
    await this.exclusive(chain, dir, async () => {
      const committed = await this.recover(chain, dir);
      // Even a refused claim is this client's claim: its appends to the chain are fenced too.
      this.claims.set(chain, epoch);
      const fence = planClaim(chain, committed.fence ?? null, epoch);
      if (fence === null) return;
      try {
        await writeHeadFile(join(dir, HEAD), { ...committed, fence });
      } catch (e) {
        throw unavailable(`claiming ${chain} at epoch ${epoch}`, e);
      }
    });
  }

  async append(chain: string, entries: readonly LedgerEntry[], head: ChainHead): Promise<void> {
    const dir = chainDirectory(this.root, chain);
    if (entries.length === 0) throw invalidArgument(`empty batch for ${chain}`);
    const actions = actionsOf(entries);
    checkActions(chain, actions);
    await this.makeDirectory(dir);
    await this.exclusive(chain, dir, async () => {
      const committed = await this.recover(chain, dir);
      // Under the chain's lock, so no claim can land between this check and the head write.
      const claimed = this.claims.get(chain);
      checkFence(chain, committed.fence ?? null, claimed);
      const fence = Math.max(committed.fence ?? -1, claimed ?? -1);
      const next = planAppend(committed.head ?? emptyHead(chain), chain, entries, head);
      const lines = entries.map((e) => `${recordLine(e.record)}\n`);
      const receipts: Write = {
        file: join(dir, RECEIPTS),
        from: committed.receipts_bytes,
        data: Buffer.from(lines.join(''), 'utf8'),
      };
      // The action lines go first: once a receipt is in the file, recovery may commit it, so
      // what it implies for the log must be durable already.
      const logged: Write = {
        file: join(dir, ACTIONS),
        from: actionsBytesOf(committed),
        data: Buffer.from(entries.map((e) => (e.action ? actionLine(e.action, e.seq) : '')).join(''), 'utf8'),
      };
      const writes = actions.length > 0 ? [logged, receipts] : [receipts];
      await commitWrites({ root: this.root, dir, chain }, committed, writes, {
        head: next,
        receipts_bytes: receipts.from + receipts.data.length,
        ...(fence < 0 ? {} : { fence }),
        actions_bytes: logged.from + (actions.length > 0 ? logged.data.length : 0),
      });
      const index = this.indexOf(chain);
      let offset = committed.receipts_bytes;
      for (const [i, entry] of entries.entries()) {
        index.learn(entry.seq, offset);
        offset += Buffer.byteLength(lines[i] as string);
      }
      if (actions.length > 0)
        await this.actions.learn(chain, logged.from, logged.from + logged.data.length, actions);
    });
  }

  startActions(chain: string, entries: readonly ActionLogEntry[]): Promise<boolean[]> {
    return this.writeActions(chain, entries, true);
  }

  async putActions(chain: string, entries: readonly ActionLogEntry[]): Promise<void> {
    await this.writeActions(chain, entries, false);
  }

  runningActions(chain: string): Promise<ActionLogEntry[]> {
    return this.queryActions(chain, (log) =>
      [...log.values()].filter((e) => e.state === 'running').map((e) => ({ ...e })),
    );
  }

  actionsStartedSince(chain: string, since: number): Promise<number> {
    return this.queryActions(chain, (log) => {
      let count = 0;
      for (const e of log.values()) if ((e.started_at ?? -Infinity) >= since) count += 1;
      return count;
    });
  }

  async *read(
    chain: string,
    options: { afterSeq?: number; limit?: number } = {},
  ): AsyncIterable<StoredReceipt> {
    const dir = chainDirectory(this.root, chain);
    const committed = await this.committed(chain);
    const size = committed.head?.size ?? 0;
    const from = Math.max(0, (options.afterSeq ?? -1) + 1);
    const to = options.limit === undefined ? size : Math.min(size, from + Math.max(0, options.limit));
    if (from >= to) return;
    const index = this.indexOf(chain);
    const start = index.before(from);
    let seq = start.seq;
    try {
      // Only up to the committed length: lines past it are an append in flight, not yet visible.
      for await (const line of readLines(join(dir, RECEIPTS), start.offset, committed.receipts_bytes)) {
        if (!line.complete) break;
        index.learn(seq, line.start);
        if (seq >= from) {
          const record = parseRecordLine(line.text);
          if (typeof record === 'string') throw corrupt(`${chain}: stored line of seq ${seq} is ${record}`);
          yield record;
        }
        seq += 1;
        if (seq >= to) return;
      }
    } catch (e) {
      throw unavailable(`reading ${chain}`, e);
    }
    throw corrupt(`${chain}: ${RECEIPTS} ends at seq ${seq}, but ${HEAD} commits ${size} receipts`);
  }

  async putCheckpoint(chain: string, size: number, note: string): Promise<void> {
    const dir = join(chainDirectory(this.root, chain), CHECKPOINTS);
    if (!Number.isSafeInteger(size) || size < 0)
      throw invalidArgument(`checkpoint size ${size} is not a size`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(join(dir, `${size}.note`), note);
    } catch (e) {
      throw unavailable(`storing checkpoint ${size} of ${chain}`, e);
    }
  }

  async latestCheckpoint(chain: string): Promise<string | null> {
    const dir = join(chainDirectory(this.root, chain), CHECKPOINTS);
    try {
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (e) {
        if (isErrno(e, 'ENOENT')) return null;
        throw e;
      }
      const sizes = names.flatMap((n) => {
        const m = NOTE.exec(n);
        return m ? [Number(m[1])] : [];
      });
      if (sizes.length === 0) return null;
      return await readFile(join(dir, `${Math.max(...sizes)}.note`), 'utf8');
    } catch (e) {
      throw unavailable(`reading checkpoints of ${chain}`, e);
    }
  }

  async probe(): Promise<void> {
    const dir = join(this.root, 'health');
    const nonce = randomUUID();
    const file = join(dir, `${hostname()}-${process.pid}-${nonce}.probe`);
    try {
      await mkdir(dir, { recursive: true });
      await writeFileAtomic(file, nonce);
      const back = await readTextIfPresent(file);
      if (back !== nonce) throw new Error(`read back ${JSON.stringify(back)} instead of what was written`);
      await rm(file, { force: true });
    } catch (e) {
      throw unavailable(`probe of ${this.root}`, e);
    }
  }

  private indexOf(chain: string): LineIndex {
    let index = this.indexes.get(chain);
    if (!index) this.indexes.set(chain, (index = new LineIndex()));
    return index;
  }

  /**
   * Appends `entries` to the chain's action log and commits them with the head; with `onlyNew`,
   * only those whose action_id the committed log lacks (and not repeated in the call).
   */
  private async writeActions(
    chain: string,
    entries: readonly ActionLogEntry[],
    onlyNew: boolean,
  ): Promise<boolean[]> {
    const dir = chainDirectory(this.root, chain);
    checkActions(chain, entries);
    if (entries.length === 0) return [];
    await this.makeDirectory(dir);
    return this.exclusive(chain, dir, async () => {
      const committed = await this.recover(chain, dir);
      const file = join(dir, ACTIONS);
      const from = actionsBytesOf(committed);
      const created = onlyNew
        ? await this.actions.query(chain, file, from, (log) => planStartActions(entries, (id) => log.has(id)))
        : entries.map(() => true);
      const written = entries.filter((_, i) => created[i]);
      if (written.length === 0) return created;
      const data = Buffer.from(written.map((e) => actionLine(e)).join(''), 'utf8');
      await commitWrites({ root: this.root, dir, chain }, committed, [{ file, from, data }], {
        ...committed,
        actions_bytes: from + data.length,
      });
      await this.actions.learn(chain, from, from + data.length, written);
      return created;
    });
  }

  /** Runs `query` over the chain's committed action log. */
  private async queryActions<T>(
    chain: string,
    query: (log: ReadonlyMap<string, ActionLogEntry>) => T,
  ): Promise<T> {
    const dir = chainDirectory(this.root, chain);
    const committed = await this.committed(chain);
    return this.actions.query(chain, join(dir, ACTIONS), actionsBytesOf(committed), query);
  }

  private async makeDirectory(dir: string): Promise<void> {
    try {
      await mkdir(dir, { recursive: true });
    } catch (e) {
      throw unavailable(`cannot create ${dir}`, e);
    }
  }

  /**
   * The committed state of a chain. Without any lock when `head.json` and the files' lengths
   * agree (the usual case); otherwise a writer is mid-append or crashed there, and only the lock holder
   * may tell which and repair.
   */
  private async committed(chain: string): Promise<Committed> {
    const dir = chainDirectory(this.root, chain);
    let seen: Committed;
    let receipts: number | null;
    let actions: number | null;
    try {
      seen = await readHeadFile(join(dir, HEAD), chain);
      receipts = await sizeOf(join(dir, RECEIPTS));
      actions = await sizeOf(join(dir, ACTIONS));
    } catch (e) {
      throw unavailable(`reading the head of ${chain}`, e);
    }
    if ((receipts ?? 0) === seen.receipts_bytes && (actions ?? 0) === actionsBytesOf(seen)) return seen;
    return this.exclusive(chain, dir, () => this.recover(chain, dir));
  }

  /** Runs `task` holding both this process's mutex for the chain and the chain's lock file. */
  private exclusive<T>(chain: string, dir: string, task: () => Promise<T>): Promise<T> {
    return this.mutex.run(chain, async () => {
      let lock: LockFile;
      try {
        lock = await LockFile.acquire(join(dir, LOCK), this.lockTimeoutMs);
      } catch (e) {
        throw unavailable(`locking ${chain}`, e);
      }
      try {
        return await task();
      } finally {
        await lock.release();
      }
    });
  }

  /**
   * Under the lock: brings `head.json` and the files into agreement. Complete receipt lines past
   * the committed head (a crash after the receipts' fsync, before the head's rename) are checked
   * and committed; a torn last line (a crash inside the write) is cut off. The action log then
   * keeps the lines of the receipts kept (see `recoverActionLog`). Anything else that disagrees
   * is corruption, left untouched for an operator.
   */
  private async recover(chain: string, dir: string): Promise<Committed> {
    try {
      const committed = await readHeadFile(join(dir, HEAD), chain);
      const receipts = await this.recoverReceipts(chain, join(dir, RECEIPTS), committed);
      const actions = await recoverActionLog(
        join(dir, ACTIONS),
        actionsBytesOf(committed),
        receipts.head?.size ?? 0,
      );
      if (receipts.bytes === committed.receipts_bytes && actions === actionsBytesOf(committed))
        return committed;
      const recovered: Committed = {
        head: receipts.head,
        receipts_bytes: receipts.bytes,
        ...(committed.fence === undefined ? {} : { fence: committed.fence }),
        actions_bytes: actions,
      };
      await writeHeadFile(join(dir, HEAD), recovered);
      return recovered;
    } catch (e) {
      throw unavailable(`recovering ${chain}`, e);
    }
  }

  /** The receipts `file` holds once its uncommitted tail is checked, and cut where torn. */
  private async recoverReceipts(
    chain: string,
    file: string,
    committed: Committed,
  ): Promise<{ head: ChainHead | null; bytes: number }> {
    const length = (await sizeOf(file)) ?? 0;
    if (length === committed.receipts_bytes) return { head: committed.head, bytes: length };
    if (length < committed.receipts_bytes)
      throw corrupt(`${file} has ${length} bytes but ${HEAD} commits ${committed.receipts_bytes}`);
    const builder = new HeadBuilder(committed.head ?? emptyHead(chain));
    const index = this.indexOf(chain);
    let good = committed.receipts_bytes;
    for await (const line of readLines(file, committed.receipts_bytes)) {
      if (!line.complete) break;
      const record = parseRecordLine(line.text);
      const problem = typeof record === 'string' ? record : builder.push(record)?.detail;
      if (problem !== undefined && problem !== null)
        throw corrupt(
          `${file}: uncommitted line at byte ${line.start} cannot be the next receipt: ${problem}`,
        );
      index.learn(builder.size - 1, line.start);
      good = line.end;
    }
    if (good < length) await truncateDurably(file, good);
    return { head: builder.size === 0 ? null : builder.head, bytes: good };
  }
}
