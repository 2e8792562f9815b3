import { createReadStream, promises as fs } from 'node:fs';
import { verifyArchive } from '@governor/receipts';
import { parse } from '../args';
import { CliError } from '../errors';
import { printArchiveReport } from '../report';
import { loadKeyring } from './keys';

const USAGE = 'governor verify-archive FILE.tar.gz [--keys keys.json] [--json]';

export const verifyArchiveHelp = `${USAGE}
  Verifies an archive offline: the manifest's signature and file digests, every receipt, and
  the checkpoints inside. Without --keys the archive's own keys.json is used (say so in an audit:
  trust comes from keys you hold). Exit 0 valid, 1 invalid, 2 usage or I/O error.`;

export async function verifyArchiveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(argv, { keys: { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(verifyArchiveHelp + '\n');
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new CliError(`expected exactly one FILE.tar.gz\nusage: ${USAGE}`);
  await fs.access(file).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${e.code ?? e.message}`);
  });
  const keyring = typeof values.keys === 'string' ? await loadKeyring(values.keys) : undefined;
  const report = await verifyArchive(createReadStream(file), keyring ? { keyring } : {});
  return printArchiveReport(report, values.json === true);
}
