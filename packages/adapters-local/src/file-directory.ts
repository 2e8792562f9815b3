import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ACCOUNT_ID_PATTERN } from '@governor/contracts';
import {
  invalidAccountId,
  type ActionLogEntry,
  type TenantDirectory,
  type TenantRecord,
} from '@governor/governor';
import { DurableDirectories } from './durable-dirs';
import { fsyncDirectory, isErrno, readTextIfPresent, writeFileAtomic } from './durable-fs';
import { storeErrors } from './errors';
import { KeyedMutex } from './keyed-mutex';

const TENANTS = 'tenants';
const ACTIONS = 'actions';
const TENANT_FILE = /^([a-z][a-z0-9-]{2,62})\.json$/;
// Reading a tenant's action log opens its files this many at a time, well below any fd limit.
const READ_PARALLELISM = 32;
// File names are at most 255 bytes on every common file system; leave room for `.json`.
const MAX_ENCODED_ACTION_ID = 240;

const { corrupt, invalidArgument, unavailable } = storeErrors('directory');

function checkAccountId(accountId: string): void {
  if (!ACCOUNT_ID_PATTERN.test(accountId)) throw invalidAccountId(accountId);
}

/**
 * The file name of an action: its id with every byte but `a-z 0-9 _ -` percent-encoded (upper-
 * case hex). Action ids come from signal ids, which are any string; the encoding keeps them inside
 * the directory and distinct even on case-insensitive file systems.
 */
function actionFileName(actionId: string): string {
  const bytes = Buffer.from(actionId, 'utf8');
  if (actionId.length === 0 || bytes.toString('utf8') !== actionId)
    throw invalidArgument(`not an action_id (empty, or not well-formed UTF-16): ${JSON.stringify(actionId)}`);
  let name = '';
  for (const byte of bytes) {
    const safe =
      (byte >= 0x61 && byte <= 0x7a) || (byte >= 0x30 && byte <= 0x39) || byte === 0x5f || byte === 0x2d;
    name += safe ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (name.length > MAX_ENCODED_ACTION_ID)
    throw invalidArgument(`action_id is too long for a file name: ${JSON.stringify(actionId)}`);
  return `${name}.json`;
}

function parseJson(text: string, file: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw corrupt(`${file}: not JSON`, e);
  }
}

function asObject(value: unknown): Record<string, unknown> | null {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : null;
}

/** Runs `task` over `items`, at most `limit` at a time, keeping the order of the results. */
async function mapLimited<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = [];
  for (let i = 0; i < items.length; i += limit) {
    results.push(...(await Promise.all(items.slice(i, i + limit).map(task))));
  }
  return results;
}

/**
 * The tenant directory and action log of the embedded deployment, as JSON files under one root:
 * `<root>/tenants/{account_id}.json` and `<root>/actions/{account_id}/{action_id}.json` (the
 * action id percent-encoded, see below), the local image of Firestore's `/tenants/{id}` and
 * `/tenants/{id}/actions/{action_id}`.
 *
 * Every write replaces one file atomically (temporary file, fsync, rename, directory fsync), so a
 * crash leaves the old or the new record, never a mix. Writes to one file are applied in call
 * order, so the latest call wins. Meant for one process per root: tenants are lease-owned, and
 * nothing here locks against another process.
 *
 * `delete` removes the tenant's file first and its action log after it. A crash between the two
 * leaves the log of a tenant that no longer exists; nothing lists it, and a later `delete` of the
 * same id removes it. Terminal action entries are kept (they are the log); nothing prunes them.
 *
 * Failures are GovernorErrors: I/O is a retryable `DIRECTORY_UNAVAILABLE`; a bad account id is
 * `INVALID_ACCOUNT_ID`; a bad action id or a file that does not hold what its name says is a
 * non-retryable `DIRECTORY_UNAVAILABLE`.
 */
export class FileDirectory implements TenantDirectory {
  /** Absolute path of the directory's root. */
  readonly root: string;
  private readonly dirs: DurableDirectories;
  private readonly mutex = new KeyedMutex();

  /** A directory rooted at `root`; directories are created on the first write. */
  constructor(root: string) {
    this.root = resolve(root);
    this.dirs = new DurableDirectories(this.root);
  }

  async get(accountId: string): Promise<TenantRecord | null> {
    checkAccountId(accountId);
    return this.readTenant(accountId);
  }

  async put(record: TenantRecord): Promise<void> {
    checkAccountId(record.account_id);
    const dir = join(this.root, TENANTS);
    const file = join(dir, `${record.account_id}.json`);
    const text = `${JSON.stringify(record, null, 2)}\n`;
    await this.mutex.run(file, async () => {
      try {
        await this.dirs.ensure(dir);
        await writeFileAtomic(file, text);
      } catch (e) {
        throw unavailable(`storing tenant ${record.account_id}`, e);
      }
    });
  }

  async delete(accountId: string): Promise<void> {
    checkAccountId(accountId);
    const tenants = join(this.root, TENANTS);
    const file = join(tenants, `${accountId}.json`);
    const log = join(this.root, ACTIONS, accountId);
    await this.mutex.run(file, async () => {
      try {
        await rm(file, { force: true });
        await fsyncIfPresent(tenants);
        await rm(log, { recursive: true, force: true });
        this.dirs.forget(log);
        await fsyncIfPresent(join(this.root, ACTIONS));
      } catch (e) {
        throw unavailable(`deleting tenant ${accountId}`, e);
      }
    });
  }

  async list(): Promise<TenantRecord[]> {
    let names: string[];
    try {
      names = await readdir(join(this.root, TENANTS));
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw unavailable('listing tenants', e);
    }
    const ids = names.flatMap((n) => TENANT_FILE.exec(n)?.[1] ?? []).sort();
    const records = await mapLimited(ids, READ_PARALLELISM, (id) => this.readTenant(id));
    // A tenant deleted while the list was read is simply not in it.
    return records.filter((r): r is TenantRecord => r !== null);
  }

  async putAction(accountId: string, entry: ActionLogEntry): Promise<void> {
    await this.writeAction(accountId, entry, false);
  }

  async startAction(accountId: string, entry: ActionLogEntry): Promise<boolean> {
    return this.writeAction(accountId, entry, true);
  }

  /** Writes an action entry; with `onlyIfNew`, not over an existing one, also across processes. */
  private async writeAction(accountId: string, entry: ActionLogEntry, onlyIfNew: boolean): Promise<boolean> {
    checkAccountId(accountId);
    const dir = join(this.root, ACTIONS, accountId);
    const name = actionFileName(entry.action_id);
    const file = join(dir, name);
    const text = `${JSON.stringify(entry, null, 2)}\n`;
    return this.mutex.run(file, async () => {
      try {
        await this.dirs.ensure(dir);
        return await writeFileAtomic(file, text, { exclusive: onlyIfNew });
      } catch (e) {
        throw unavailable(`storing action ${entry.action_id} of ${accountId}`, e);
      }
    });
  }

  async runningActions(accountId: string): Promise<ActionLogEntry[]> {
    return (await this.actionLog(accountId)).filter((e) => e.state === 'running');
  }

  /** Reads every entry of the tenant's log (one file each): fine at the embedded default's scale. */
  async actionsStartedSince(accountId: string, since: number): Promise<number> {
    return (await this.actionLog(accountId)).filter((e) => (e.started_at ?? -Infinity) >= since).length;
  }

  private async actionLog(accountId: string): Promise<ActionLogEntry[]> {
    checkAccountId(accountId);
    const dir = join(this.root, ACTIONS, accountId);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (e) {
      if (isErrno(e, 'ENOENT')) return [];
      throw unavailable(`reading the action log of ${accountId}`, e);
    }
    // Temporary files of writes in flight end in `.tmp`, and start with a dot.
    const files = names.filter((n) => n.endsWith('.json') && !n.startsWith('.')).sort();
    const entries = await mapLimited(files, READ_PARALLELISM, (name) => this.readAction(dir, name));
    return entries.filter((e): e is ActionLogEntry => e !== null);
  }

  private async readTenant(accountId: string): Promise<TenantRecord | null> {
    const file = join(this.root, TENANTS, `${accountId}.json`);
    let text: string | null;
    try {
      text = await readTextIfPresent(file);
    } catch (e) {
      throw unavailable(`reading tenant ${accountId}`, e);
    }
    if (text === null) return null;
    const record = asObject(parseJson(text, file));
    if (record?.account_id !== accountId) throw corrupt(`${file}: not the record of tenant ${accountId}`);
    return record as unknown as TenantRecord;
  }

  private async readAction(dir: string, name: string): Promise<ActionLogEntry | null> {
    const file = join(dir, name);
    let text: string | null;
    try {
      text = await readTextIfPresent(file);
    } catch (e) {
      throw unavailable(`reading ${file}`, e);
    }
    if (text === null) return null;
    const entry = asObject(parseJson(text, file));
    if (
      typeof entry?.action_id !== 'string' ||
      typeof entry.state !== 'string' ||
      actionFileNameOrNull(entry.action_id) !== name
    )
      throw corrupt(`${file}: not an action log entry stored under this name`);
    return entry as unknown as ActionLogEntry;
  }
}

function actionFileNameOrNull(actionId: string): string | null {
  try {
    return actionFileName(actionId);
  } catch {
    return null;
  }
}

async function fsyncIfPresent(dir: string): Promise<void> {
  try {
    await fsyncDirectory(dir);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
