import { createWriteStream } from 'node:fs';
import { AccountId, tenantChain } from '@governor/contracts';
import { parse, required } from '../args';
import { BACKEND_HELP, backendOption, parseBackend } from '../backend';
import { CliError } from '../errors';
import { chainLines, openChainSource, requireChain } from '../stored-chain';

const USAGE =
  'governor export-receipts --account-id ACCOUNT [--format jsonl|json] [--out FILE] [--backend local|gcp] [--data-dir DIR]';

export const exportHelp = `${USAGE}
  Writes a tenant's stored receipts to stdout (or --out FILE), in seq order, exactly as stored
  (the body bytes are never re-serialised): one record per line (jsonl, the default; what
  verify-chain reads), or one JSON array. Reads the embedded default's ledger in --data-dir
  (default .governor), or with --backend gcp the chain in Firestore.
  ${BACKEND_HELP}`;

/** Standard output, or a file opened before anything is read; writes wait for the stream to drain. */
async function output(path: string | undefined) {
  const stream = path === undefined ? process.stdout : createWriteStream(path);
  if (path !== undefined)
    await new Promise<void>((resolve, reject) =>
      stream.once('open', () => resolve()).once('error', reject),
    ).catch((e: Error) => {
      throw new CliError(`cannot write ${path}: ${e.message}`);
    });
  return {
    async write(text: string): Promise<void> {
      if (!stream.write(text)) await new Promise<void>((resolve) => stream.once('drain', () => resolve()));
    },
    async end(): Promise<void> {
      if (path === undefined) return;
      await new Promise<void>((resolve, reject) =>
        (stream as ReturnType<typeof createWriteStream>).end((e?: Error | null) =>
          e ? reject(e) : resolve(),
        ),
      );
    },
  };
}

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      'account-id': { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'data-dir': { type: 'string' },
      ...backendOption,
    },
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
  const backend = parseBackend(values.backend);
  const source = await openChainSource(
    backend,
    typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined,
  );
  try {
    const chain = tenantChain(accountId);
    await requireChain(source, chain, accountId);
    const out = await output(typeof values.out === 'string' ? values.out : undefined);
    let first = true;
    if (format === 'json') await out.write('[');
    for await (const line of chainLines(source, chain)) {
      await out.write(format === 'json' ? (first ? '\n  ' : ',\n  ') + line : line + '\n');
      first = false;
    }
    if (format === 'json') await out.write('\n]\n');
    await out.end();
  } finally {
    await source.close();
  }
  return 0;
}
