import { join, resolve } from 'node:path';
import { AccountId, tenantChain } from '@governor/contracts';
import { FileLedger } from '@governor/adapters-local';
import { parse, required } from '../args';
import { CliError } from '../errors';

const USAGE = 'governor export-receipts --account-id ACCOUNT [--format jsonl|json] [--data-dir DIR]';

export const exportHelp = `${USAGE}
  Writes a tenant's stored receipts to stdout, in seq order, exactly as stored (the body bytes
  are never re-serialised): one record per line (jsonl, the default; what verify-chain reads),
  or one JSON array. Reads the embedded default's ledger in --data-dir (default .governor).`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    { 'account-id': { type: 'string' }, format: { type: 'string' }, 'data-dir': { type: 'string' } },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(exportHelp + '\n');
    return 0;
  }
  const accountId = required(values['account-id'], '--account-id', USAGE);
  if (!AccountId.safeParse(accountId).success)
    throw new CliError(`--account-id "${accountId}" is not a valid account id (^[a-z][a-z0-9-]{2,62}$)`);
  const format = values.format ?? 'jsonl';
  if (format !== 'jsonl' && format !== 'json')
    throw new CliError(`--format must be jsonl or json, got "${String(format)}"`);
  const dataDir = resolve(typeof values['data-dir'] === 'string' ? values['data-dir'] : '.governor');
  const ledger = await FileLedger.open(join(dataDir, 'ledger'));
  const chain = tenantChain(accountId);
  if ((await ledger.head(chain)) === null) throw new CliError(`no receipts for ${accountId} in ${dataDir}`);
  let first = true;
  if (format === 'json') process.stdout.write('[');
  for await (const record of ledger.read(chain)) {
    const line = JSON.stringify({
      body: record.body,
      leaf_hash: record.leaf_hash,
      signature: record.signature,
      key_id: record.key_id,
    });
    if (format === 'json') process.stdout.write((first ? '\n  ' : ',\n  ') + line);
    else process.stdout.write(line + '\n');
    first = false;
  }
  if (format === 'json') process.stdout.write('\n]\n');
  return 0;
}
