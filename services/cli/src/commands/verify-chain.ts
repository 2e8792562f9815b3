import { ChainVerifier } from '@governor/receipts';
import { list, parse, required } from '../args';
import { CliError } from '../errors';
import { openLines, progress, readText } from '../io';
import { printChainReport } from '../report';
import { loadKeyring } from './keys';

const USAGE =
  'governor verify-chain FILE.jsonl|- --keys keys.json [--checkpoint FILE.note ...] [--mode full|checkpoint] [--json]';

export const verifyChainHelp = `${USAGE}
  Verifies an exported chain offline: canonical bytes, schema, leaf hashes, links, seqs,
  timestamps, signatures and key validity, and consistency with each signed checkpoint.
  --mode checkpoint checks hashes and links only, trusting signatures on checkpoints (faster).
  Exit 0 valid, 1 invalid (one line per issue: CODE seq=N detail), 2 usage or I/O error.`;

export async function verifyChainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      keys: { type: 'string' },
      checkpoint: { type: 'string', multiple: true },
      mode: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(verifyChainHelp + '\n');
    return 0;
  }
  const file = positionals[0];
  if (file === undefined || positionals.length > 1)
    throw new CliError(`expected exactly one FILE.jsonl (or - for stdin)\nusage: ${USAGE}`);
  const mode = values.mode ?? 'full';
  if (mode !== 'full' && mode !== 'checkpoint')
    throw new CliError(`--mode must be full or checkpoint, got "${String(mode)}"`);
  const keyring = await loadKeyring(required(values.keys, '--keys keys.json', USAGE));
  const checkpoints = await Promise.all(list(values.checkpoint).map((p) => readText(p, 'checkpoint')));
  const lines = await openLines(file);
  const verifier = new ChainVerifier({ keyring, checkpoints, mode });
  const bar = progress('receipts verified');
  let n = 0;
  try {
    for await (const line of lines) {
      await verifier.push(line);
      bar.tick(++n);
    }
  } catch (e) {
    // The worker threads must end, or the process would never exit.
    await verifier.close();
    throw new CliError(`cannot read ${file}: ${(e as Error).message}`, 2, { cause: e });
  } finally {
    bar.done();
  }
  return printChainReport(await verifier.finish(), values.json === true);
}
