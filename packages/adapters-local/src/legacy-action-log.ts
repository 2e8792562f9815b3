import { readdir, readFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { ACCOUNT_ID_PATTERN } from '@governor/contracts';
import type { ActionLogEntry, ReceiptLedger } from '@governor/governor';
import { fsyncDirectory, isErrno } from './durable-fs';

/**
 * Moves an action log kept by earlier versions beside the tenant records
 * (`<directoryRoot>/actions/{account_id}/{action_id}.json`) into each tenant chain's log in the
 * ledger, then renames the folder to `actions.migrated`, so it runs once. Entries still running
 * there are actions a crash or a stop left behind: without this, no restart would reconcile them.
 * Returns how many entries moved. A file that is not an entry stops the migration with an error
 * naming it, before anything is renamed: the next start tries again.
 */
export async function migrateLegacyActionLog(directoryRoot: string, ledger: ReceiptLedger): Promise<number> {
  const root = join(directoryRoot, 'actions');
  let accounts: string[];
  try {
    accounts = await readdir(root);
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return 0;
    throw e;
  }
  let moved = 0;
  for (const account of accounts.filter((a) => ACCOUNT_ID_PATTERN.test(a)).sort()) {
    const dir = join(root, account);
    // Temporary files of writes in flight end in `.tmp` and start with a dot.
    const files = (await readdir(dir)).filter((n) => n.endsWith('.json') && !n.startsWith('.'));
    const entries: ActionLogEntry[] = [];
    for (const name of files) {
      const entry = JSON.parse(await readFile(join(dir, name), 'utf8')) as Partial<ActionLogEntry> | null;
      if (typeof entry?.action_id !== 'string' || typeof entry.state !== 'string')
        throw new Error(`${join(dir, name)}: not an action log entry; move it away and start again`);
      entries.push(entry as ActionLogEntry);
    }
    if (entries.length > 0) await ledger.putActions(`tenants/${account}`, entries);
    moved += entries.length;
  }
  await rename(root, join(directoryRoot, 'actions.migrated'));
  await fsyncDirectory(directoryRoot);
  return moved;
}
