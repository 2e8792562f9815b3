import { createReadStream, promises as fs } from 'node:fs';
import { verifyArchive } from '@governor/receipts';
import { parse } from '../args';
import { CliError } from '../errors';
import { printArchiveReport } from '../report';
import { loadKeyring, trustedKeys } from './keys';

const USAGE =
  'governor verify-archive FILE.tar.gz (--keys keys.json | --trust-archive-keys) [--allow-empty] [--json]';

export const verifyArchiveHelp = `${USAGE}
  Verifies an archive offline: the manifest's signature and file digests, every receipt, and
  the checkpoints inside, against keys you trust (--keys). With --trust-archive-keys the archive's
  own keys.json is accepted instead: that proves integrity, not who signed it. One of the two is
  required, as in every verify command: without either, a usage error (exit 2) says what to pass.
  An archive with no receipt is INVALID (EMPTY) unless --allow-empty says it is expected.
  Exit 0 valid, 1 invalid, 2 usage or I/O error.`;

export async function verifyArchiveCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      keys: { type: 'string' },
      'trust-archive-keys': { type: 'boolean' },
      'allow-empty': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(verifyArchiveHelp + '\n');
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new CliError(`expected exactly one FILE.tar.gz\nusage: ${USAGE}`);
  const trusted = trustedKeys(values, true, USAGE);
  await fs.access(file).catch((e: NodeJS.ErrnoException) => {
    throw new CliError(`cannot read ${file}: ${e.code ?? e.message}`);
  });
  const report = await verifyArchive(createReadStream(file), {
    ...('keys' in trusted ? { keyring: await loadKeyring(trusted.keys) } : { trustArchiveKeys: true }),
    allowEmpty: values['allow-empty'] === true,
  });
  return printArchiveReport(report, values.json === true);
}
