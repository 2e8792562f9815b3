import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import { ChainId } from '@governor/contracts';
import {
  appendReceipt,
  checkpointOf,
  emptyHead,
  sampleFields,
  signCheckpoint,
  splitLines,
  writeArchiveFile,
} from '@governor/receipts';
import type { StoredReceipt } from '@governor/contracts';
import { parse, positiveInt, required } from '../args';
import { CliError } from '../errors';
import { progress } from '../io';
import { loadKeyDir } from './keys';

const USAGE =
  'governor receipts sample --chain tenants/ACCOUNT --count N --keys DIR --out FILE.jsonl [--checkpoint-out FILE.note] [--archive-out FILE.tar.gz]';

export const sampleHelp = `${USAGE}
  Writes a valid chain of N realistic receipts cycling through every operation, signed with
  the key in DIR (from \`governor keys generate\`), and optionally its checkpoint: for testing
  audit tooling and for benchmarks.`;

export async function sampleCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    process.stdout.write(sampleHelp + '\n');
    return 2;
  }
  if (sub !== 'sample') throw new CliError(`unknown receipts command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values } = parse(
    rest,
    {
      chain: { type: 'string' },
      count: { type: 'string' },
      keys: { type: 'string' },
      out: { type: 'string' },
      'checkpoint-out': { type: 'string' },
      'archive-out': { type: 'string' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(sampleHelp + '\n');
    return 0;
  }
  const chain = required(values.chain, '--chain', USAGE);
  if (!ChainId.safeParse(chain).success)
    throw new CliError(
      `--chain must be tenants/{account_id} or workers/{worker_id} with an id matching ^[a-z][a-z0-9-]{2,62}$, got "${chain}"`,
    );
  const count = positiveInt(required(values.count, '--count N', USAGE), '--count');
  const { key, keyring } = await loadKeyDir(required(values.keys, '--keys DIR', USAGE));
  const outPath = required(values.out, '--out FILE.jsonl', USAGE);
  const owner = chain.slice(chain.indexOf('/') + 1);
  const out = createWriteStream(outPath);
  const opened = new Promise<void>((resolve, reject) =>
    out.once('open', () => resolve()).once('error', reject),
  );
  await opened.catch((e: Error) => {
    throw new CliError(`cannot write ${outPath}: ${e.message}`);
  });
  const bar = progress('receipts written');
  let head = emptyHead(chain);
  // One receipt per millisecond from the moment the key became valid, so every one is in its window.
  const start = Date.parse(keyring.get(key.keyId)?.entry.not_before ?? new Date().toISOString());
  for (let i = 0; i < count; i++) {
    const { record, head: next } = appendReceipt(head, sampleFields(owner, i), key, {
      now: new Date(start + i),
    });
    head = next;
    if (!out.write(JSON.stringify(record) + '\n'))
      await new Promise<void>((resolve) => out.once('drain', () => resolve()));
    bar.tick(i + 1);
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  bar.done();
  const now = new Date(Math.max(Date.now(), start + count));
  const note = signCheckpoint(checkpointOf(head, now), key);
  const cpPath = values['checkpoint-out'];
  if (typeof cpPath === 'string') await fs.writeFile(cpPath, note);
  process.stdout.write(
    `${count} receipts of ${chain} written to ${outPath}${typeof cpPath === 'string' ? `, checkpoint at size ${count} in ${cpPath}` : ''}\n`,
  );
  const archivePath = values['archive-out'];
  if (typeof archivePath === 'string') {
    const records = (async function* () {
      for await (const line of splitLines(createReadStream(outPath)))
        if (line !== '') yield JSON.parse(line) as StoredReceipt;
    })();
    const written = await writeArchiveFile(
      { chain, records, checkpoints: [note], keys: keyring.entries(), signer: key, now },
      archivePath,
    );
    process.stdout.write(`archive ${archivePath}: ${written.bytes} bytes, sha256 ${written.sha256}\n`);
  }
  return 0;
}
