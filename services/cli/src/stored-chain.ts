import { join } from 'node:path';
import { FileLedger } from '@governor/adapters-local';
import type { GcpConfig } from '@governor/adapters-gcp';
import type { StoredReceipt } from '@governor/contracts';
import type { CheckpointWitness, ReceiptLedger } from '@governor/governor';
import type { ChainHead } from '@governor/receipts';
import { dataDirOf, type Backend } from './backend';
import { CliError, firstLine } from './errors';
import { gcpConfig, gcpFailure, openGcp } from './gcp-stores';

/** Where stored chains are read from: the embedded default's ledger, or Firestore with its GCS witness. */
export interface ChainSource {
  readonly backend: Backend;
  readonly ledger: ReceiptLedger;
  /** The independent checkpoint witness (Cloud Storage); none for the embedded default. */
  readonly witness: CheckpointWitness | null;
  /** Where the ledger is, for messages: `the ledger in DIR`, `Firestore (project P)`. */
  readonly where: string;
  /** Where a chain's witnessed checkpoints are, for messages. */
  witnessAt(chain: string): string;
  /** A one-line CLI error for a failed read. */
  failure(doing: string, e: unknown): CliError;
  close(): Promise<void>;
}

/** One stored record as an export line: exactly the stored fields, the body bytes untouched. */
export function recordLine(record: StoredReceipt): string {
  return JSON.stringify({
    body: record.body,
    leaf_hash: record.leaf_hash,
    signature: record.signature,
    key_id: record.key_id,
  });
}

export async function openChainSource(backend: Backend, dataDir: string | undefined): Promise<ChainSource> {
  if (backend === 'local') {
    const dir = dataDirOf(dataDir);
    const ledger = await FileLedger.open(join(dir, 'ledger'));
    return {
      backend,
      ledger,
      witness: null,
      where: `the ledger in ${dir}`,
      witnessAt: () => 'nowhere (the embedded default has no witness)',
      failure: (doing, e) =>
        e instanceof CliError ? e : new CliError(`${doing}: ${firstLine(e)}`, 2, { cause: e }),
      close: () => Promise.resolve(),
    };
  }
  if (dataDir !== undefined)
    throw new CliError('--data-dir is for --backend local; --backend gcp reads Firestore');
  const config: GcpConfig = gcpConfig(process.env);
  const stores = await openGcp(config);
  return {
    backend,
    ledger: stores.ledger,
    witness: stores.witness,
    where: `Firestore (project ${config.projectId})`,
    witnessAt: (chain) => `gs://${config.bucket}/checkpoints/${chain}/`,
    failure: (doing, e) => gcpFailure(config, doing, e),
    close: () => stores.close(),
  };
}

/**
 * The chain's stored records in seq order, the first `limit` of them when given (a snapshot of
 * a chain that may still grow); a failed read is a one-line CLI error.
 */
export async function* chainRecords(
  source: ChainSource,
  chain: string,
  options: { limit?: number } = {},
): AsyncGenerator<StoredReceipt> {
  try {
    yield* source.ledger.read(chain, options.limit === undefined ? {} : { limit: options.limit });
  } catch (e) {
    throw source.failure(`cannot read ${chain} from ${source.where}`, e);
  }
}

/** The chain's records as export lines, in seq order; a failed read is a one-line CLI error. */
export async function* chainLines(
  source: ChainSource,
  chain: string,
  options: { limit?: number } = {},
): AsyncGenerator<string> {
  for await (const record of chainRecords(source, chain, options)) yield recordLine(record);
}

/** The chain's stored head; fails with a one-line error when the source holds no receipts for it. */
export async function requireChain(source: ChainSource, chain: string, label = chain): Promise<ChainHead> {
  let head;
  try {
    head = await source.ledger.head(chain);
  } catch (e) {
    throw source.failure(`cannot read the head of ${chain} from ${source.where}`, e);
  }
  if (head === null) throw new CliError(`no receipts for ${label} in ${source.where}`);
  return head;
}
