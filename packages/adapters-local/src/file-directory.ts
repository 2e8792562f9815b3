import { readdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ACCOUNT_ID_PATTERN } from '@governor/contracts';
import { invalidAccountId, type TenantDirectory, type TenantRecord } from '@governor/governor';
import { DurableDirectories } from './durable-dirs';
import { fsyncDirectory, isErrno, readTextIfPresent, writeFileAtomic } from './durable-fs';
import { storeErrors } from './errors';
import { KeyedMutex } from './keyed-mutex';

const TENANTS = 'tenants';
const TENANT_FILE = /^([a-z][a-z0-9-]{2,62})\.json$/;
// Listing opens the tenants' files this many at a time, well below any fd limit.
const READ_PARALLELISM = 32;

const { corrupt, unavailable } = storeErrors('directory');

function checkAccountId(accountId: string): void {
  if (!ACCOUNT_ID_PATTERN.test(accountId)) throw invalidAccountId(accountId);
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
 * The tenant directory of the embedded deployment, as JSON files under one root:
 * `<root>/tenants/{account_id}.json`, the local image of Firestore's `/tenants/{id}`. A tenant's
 * action log is not here but with its chain, in the ledger (`FileLedger`).
 *
 * Every write replaces one file atomically (temporary file, fsync, rename, directory fsync), so a
 * crash leaves the old or the new record, never a mix. Writes to one file are applied in call
 * order, so the latest call wins. Meant for one process per root: tenants are lease-owned, and
 * nothing here locks against another process.
 *
 * Failures are GovernorErrors: I/O is a retryable `DIRECTORY_UNAVAILABLE`; a bad account id is
 * `INVALID_ACCOUNT_ID`; a file that does not hold what its name says is a non-retryable
 * `DIRECTORY_UNAVAILABLE`.
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
    await this.mutex.run(file, async () => {
      try {
        await rm(file, { force: true });
        await fsyncIfPresent(tenants);
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
}

async function fsyncIfPresent(dir: string): Promise<void> {
  try {
    await fsyncDirectory(dir);
  } catch (e) {
    if (!isErrno(e, 'ENOENT')) throw e;
  }
}
