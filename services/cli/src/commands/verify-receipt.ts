import { createReadStream } from 'node:fs';
import { AccountId, tenantChain } from '@governor/contracts';
import { archiveExtras, archiveRecords, Keyring, parseCheckpoint, ReceiptsError } from '@governor/receipts';
import { parse, required } from '../args';
import { BACKEND_HELP, backendOption, parseBackend, type Backend } from '../backend';
import { CliError } from '../errors';
import { openLines, readText } from '../io';
import { noteSize, verifyOne } from '../receipt-proof';
import { printReceiptLimit } from '../report';
import { chainLines, openChainSource, requireChain } from '../stored-chain';
import { loadKeyring, trustedKeys } from './keys';

const USAGE =
  'governor verify-receipt --receipt-id ID --account-id ACCOUNT [--from FILE.jsonl|FILE.tar.gz | --backend local|gcp] [--data-dir DIR] (--keys keys.json | --trust-archive-keys) [--checkpoint FILE.note] [--json]';

export const verifyReceiptHelp = `${USAGE}
  Verifies one receipt: its bytes, schema, hash, signature and key validity, its links to the
  receipts before and after it, and (with a checkpoint: --checkpoint, or the newest one inside an
  archive) an RFC 6962 inclusion proof of it against the signed checkpoint's Merkle root.
  --keys is required, as in every verify command; for an archive, --trust-archive-keys instead
  accepts the keys it carries (integrity only: anyone can sign an archive with a key of its own).
  Without --from, the receipt is read from the stored chain, as verify-chain --account-id does:
  the embedded default's ledger in --data-dir (default .governor) and its latest checkpoint, or
  with --backend gcp the chain in Firestore and the latest checkpoint witnessed in Cloud Storage
  (gs://BUCKET/checkpoints/tenants/ACCOUNT/SIZE.note).
  ${BACKEND_HELP}
  Exit 0 valid, 1 invalid or not found, 2 usage or I/O error.`;

/** The LIMIT_EXCEEDED a reader stopped at, if that is what `e` is (directly or as its cause). */
function limitOf(e: unknown): string | null {
  const inner = e instanceof CliError ? e.cause : e;
  return inner instanceof ReceiptsError && inner.code === 'LIMIT_EXCEEDED' ? inner.message : null;
}

/** The newest parseable checkpoint of several; unparseable ones are left to the report. */
function newest(notes: string[]): string | undefined {
  let best: { text: string; size: number } | undefined;
  for (const text of notes) {
    try {
      const size = parseCheckpoint(text).checkpoint.size;
      if (!best || size > best.size) best = { text, size };
    } catch {
      // A malformed note in an archive is reported by verify-archive; here it proves nothing.
    }
  }
  return best?.text;
}

export async function verifyReceiptCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      'receipt-id': { type: 'string' },
      'account-id': { type: 'string' },
      from: { type: 'string' },
      keys: { type: 'string' },
      'trust-archive-keys': { type: 'boolean' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
      'data-dir': { type: 'string' },
      ...backendOption,
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(verifyReceiptHelp + '\n');
    return 0;
  }
  const receiptId = required(values['receipt-id'], '--receipt-id', USAGE);
  const accountId = required(values['account-id'], '--account-id', USAGE);
  if (!AccountId.safeParse(accountId).success)
    throw new CliError(`--account-id "${accountId}" is not a valid account id (^[a-z][a-z0-9-]{2,62}$)`);
  if (typeof values.from === 'string' && values.backend !== undefined)
    throw new CliError(`give --from FILE or --backend, not both\nusage: ${USAGE}`);
  // Where the chain comes from, as in verify-chain: the file given, else the stored chain of
  // --backend (the embedded default's, in --data-dir, unless --backend gcp says otherwise).
  if (typeof values.from !== 'string')
    return verifyStored({
      receiptId,
      accountId,
      backend: parseBackend(values.backend),
      keys: trustedKeys(values, false, USAGE).keys,
      checkpoint: typeof values.checkpoint === 'string' ? values.checkpoint : undefined,
      dataDir: typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined,
      json: values.json === true,
    });
  const from = values.from;
  const isArchive = from.endsWith('.tar.gz') || from.endsWith('.tgz');
  const trusted = trustedKeys(values, isArchive, USAGE);

  let keyring = 'keys' in trusted ? await loadKeyring(trusted.keys) : new Keyring([]);
  let checkpointText =
    typeof values.checkpoint === 'string' ? await readText(values.checkpoint, 'checkpoint') : undefined;
  const keysSource = typeof values.keys === 'string' ? 'keyring' : 'archive';
  // A hostile archive (a bomb, a flood of entries, notes or lines) stops at a limit of the
  // reader: that is an INVALID answer (exit 1), not an I/O error.
  const limited = (e: unknown): number => {
    const detail = limitOf(e);
    if (detail === null) throw e;
    return printReceiptLimit({ receiptId, accountId, keysSource, detail }, values.json === true);
  };
  if (isArchive) {
    let extras: { keys: string | null; notes: string[] };
    try {
      extras = await archiveExtras(createReadStream(from));
    } catch (e) {
      if (limitOf(e) !== null) return limited(e);
      throw new CliError(`cannot read archive ${from}: ${(e as Error).message}`);
    }
    if (typeof values.keys !== 'string') {
      if (!extras.keys) throw new CliError(`${from} has no keys.json; pass --keys`);
      keyring = Keyring.fromJson(extras.keys);
    }
    checkpointText ??= newest(extras.notes);
  }
  try {
    return await verifyOne({
      receiptId,
      accountId,
      lines: isArchive ? archiveRecords(createReadStream(from)) : await openLines(from),
      from,
      keyring,
      keysSource,
      checkpointText,
      json: values.json === true,
    });
  } catch (e) {
    return limited(e);
  }
}

/**
 * Verifies a receipt of a stored chain: against --checkpoint if given, else the latest checkpoint
 * the witness holds (Cloud Storage), or for the embedded default the ledger's own.
 */
async function verifyStored(o: {
  receiptId: string;
  accountId: string;
  backend: Backend;
  keys: string;
  checkpoint: string | undefined;
  dataDir: string | undefined;
  json: boolean;
}): Promise<number> {
  const keyring = await loadKeyring(o.keys);
  const given = o.checkpoint === undefined ? undefined : await readText(o.checkpoint, 'checkpoint');
  const source = await openChainSource(o.backend, o.dataDir);
  try {
    const chain = tenantChain(o.accountId);
    await requireChain(source, chain, o.accountId);
    let latest: { text: string | null; from: string } | undefined;
    if (given === undefined) {
      try {
        if (source.witness) {
          const text = await source.witness.latest(chain);
          const size = text === null ? null : noteSize(text);
          latest = {
            text,
            from: `witnessed in ${source.witnessAt(chain)}${text === null ? '' : `${size ?? '?'}.note`}`,
          };
        } else latest = { text: await source.ledger.latestCheckpoint(chain), from: `in ${source.where}` };
      } catch (e) {
        throw source.failure(`cannot read the latest checkpoint of ${chain}`, e);
      }
    }
    return await verifyOne({
      receiptId: o.receiptId,
      accountId: o.accountId,
      lines: chainLines(source, chain),
      from: source.where,
      keyring,
      keysSource: 'keyring',
      checkpointText: given ?? latest?.text ?? undefined,
      ...(latest ? { checkpointFrom: latest.from } : {}),
      json: o.json,
    });
  } finally {
    await source.close();
  }
}
