import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KEY_FILE, KEYS_FILE } from '@governor/adapters-local';
import type { StoredReceipt } from '@governor/contracts';
import {
  CompactRange,
  Keyring,
  SigningKey,
  checkpointOf,
  leafHash,
  originOf,
  parseCheckpoint,
  signCheckpoint,
  type ChainHead,
} from '@governor/receipts';
import { dataDirOf, type Backend } from './backend';
import { CliError, firstLine } from './errors';
import type { ChainSource } from './stored-chain';

/** A signed checkpoint found in a store, parsed. */
export interface StoredNote {
  readonly text: string;
  readonly size: number;
  readonly origin: string;
  readonly root: Buffer;
  readonly headHash: string;
  /** Where it was found, for messages: `witnessed in gs://…`, `stored in the ledger in DIR`. */
  readonly from: string;
}

/** A key the CLI can sign an on-demand checkpoint with, and where it came from. */
export interface CheckpointSigner {
  readonly key: SigningKey;
  readonly file: string;
}

/**
 * The chain's latest signed checkpoints: the witness's (Cloud Storage, independent of the
 * ledger) and the ledger's own. Read before the head, so none of them can be newer than it
 * unless the ledger lost receipts. A note that does not parse is reported and left out.
 */
export async function storedNotes(
  source: ChainSource,
  chain: string,
  warn: (line: string) => void,
): Promise<StoredNote[]> {
  const found: { text: string; from: string }[] = [];
  try {
    const witnessed = source.witness ? await source.witness.latest(chain) : null;
    if (witnessed !== null) found.push({ text: witnessed, from: `witnessed in ${source.witnessAt(chain)}` });
    const own = await source.ledger.latestCheckpoint(chain);
    if (own !== null && own !== witnessed) found.push({ text: own, from: `stored in ${source.where}` });
  } catch (e) {
    throw source.failure(`cannot read the checkpoints of ${chain}`, e);
  }
  return found.flatMap(({ text, from }) => {
    try {
      const { checkpoint } = parseCheckpoint(text);
      return [
        {
          text,
          size: checkpoint.size,
          origin: checkpoint.origin,
          root: checkpoint.root,
          headHash: checkpoint.head_hash,
          from,
        },
      ];
    } catch (e) {
      warn(`warning: the checkpoint ${from} does not parse (${firstLine(e)}); it is left out`);
      return [];
    }
  });
}

/**
 * The key an on-demand checkpoint can be signed with: GOVERNOR_SIGNING_KEY_FILE when set (the
 * key the worker signs with), else on the embedded default the data dir's development key. A key
 * that its keys.json (beside it) does not list, or lists as not valid now, would sign a
 * checkpoint no auditor trusts, so it counts as no key; `why` says what was found instead.
 */
export async function checkpointSigner(
  backend: Backend,
  dataDir: string | undefined,
  env: NodeJS.ProcessEnv,
  now: Date,
): Promise<{ signer: CheckpointSigner | null; why: string }> {
  const given = env.GOVERNOR_SIGNING_KEY_FILE;
  const file =
    given !== undefined && given !== ''
      ? resolve(given)
      : backend === 'local'
        ? join(dataDirOf(dataDir), 'keys', KEY_FILE)
        : null;
  if (file === null) return { signer: null, why: 'GOVERNOR_SIGNING_KEY_FILE is not set' };
  let key: SigningKey;
  try {
    key = SigningKey.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { signer: null, why: `no usable signing key at ${file} (${code ?? firstLine(e)})` };
  }
  const keysFile = join(dirname(file), KEYS_FILE);
  const keysJson = await fs.readFile(keysFile, 'utf8').catch(() => null);
  if (keysJson !== null) {
    let entry;
    try {
      entry = Keyring.fromJson(keysJson).get(key.keyId)?.entry;
    } catch (e) {
      return { signer: null, why: `${keysFile} does not parse (${firstLine(e)})` };
    }
    if (entry === undefined)
      return { signer: null, why: `the key at ${file} (${key.keyId}) is not listed in ${keysFile}` };
    if (!Keyring.validAt(entry, now.toISOString()))
      return { signer: null, why: `the key at ${file} (${key.keyId}) is not valid now per ${keysFile}` };
  }
  return { signer: { key, file }, why: '' };
}

/**
 * What an export with its checkpoint holds, decided before anything is written:
 * - `stored`: the latest stored checkpoint covers exactly the stored chain;
 * - `sign`: the chain has receipts past the latest stored checkpoint (or has none), and a key
 *   is at hand: one is signed over every exported receipt, once the export proved consistent
 *   with every stored checkpoint it reaches;
 * - `cut`: the same without a key: the export stops at the latest stored checkpoint's size,
 *   so every exported receipt is provable, and says how many later ones were left out;
 * - `truncated`: the ledger holds fewer receipts than a signed checkpoint covers; everything is
 *   exported with that checkpoint, which makes the verifier report the truncation.
 */
export type TailPlan =
  | { readonly kind: 'stored'; readonly count: number; readonly note: StoredNote }
  | {
      readonly kind: 'sign';
      readonly count: number;
      readonly signer: CheckpointSigner;
      readonly latest: StoredNote | null;
    }
  | {
      readonly kind: 'cut';
      readonly count: number;
      readonly note: StoredNote;
      readonly left: number;
      /** Why no key was at hand. */
      readonly noSigner: string;
    }
  | { readonly kind: 'truncated'; readonly count: number; readonly note: StoredNote };

export function planTail(
  chain: string,
  headSize: number,
  notes: readonly StoredNote[],
  signer: CheckpointSigner | null,
  noSigner: string,
): TailPlan {
  const latest = notes.reduce<StoredNote | null>((a, n) => (a === null || n.size > a.size ? n : a), null);
  if (latest !== null && latest.size > headSize) return { kind: 'truncated', count: headSize, note: latest };
  if (latest !== null && latest.size === headSize) return { kind: 'stored', count: headSize, note: latest };
  if (signer !== null) return { kind: 'sign', count: headSize, signer, latest };
  if (latest === null || latest.size === 0)
    throw new CliError(
      `no signed checkpoint of ${chain} covers any receipt yet, and no key is at hand to take one (${noSigner}): ` +
        'nothing could prove the export complete; export without --checkpoint-out, or run where the signing key is',
    );
  return { kind: 'cut', count: latest.size, note: latest, left: headSize - latest.size, noSigner };
}

/**
 * Follows the exported receipts: their Merkle tree (over leaf hashes recomputed from the bodies,
 * as a verifier does) and, at each stored checkpoint's size, whether the checkpoint matches them.
 * An on-demand checkpoint is signed only over receipts that match every stored one they reach,
 * so it never vouches for a chain that disagrees with what was signed before.
 */
export class TailCheck {
  private readonly range = CompactRange.empty();
  private headHash = '';
  readonly mismatches: string[] = [];

  constructor(
    private readonly chain: string,
    private readonly notes: readonly StoredNote[],
  ) {}

  get size(): number {
    return this.range.size;
  }

  push(record: StoredReceipt): void {
    const leaf = leafHash(record.body);
    this.range.append(leaf);
    this.headHash = leaf.toString('hex');
    for (const note of this.notes) {
      if (note.size !== this.range.size) continue;
      const problems: string[] = [];
      if (note.origin !== originOf(this.chain)) problems.push(`its origin is ${note.origin}`);
      if (!note.root.equals(this.range.root())) problems.push('its Merkle root differs from the receipts');
      if (note.headHash !== this.headHash)
        problems.push(`its head hash differs from the receipt at seq ${note.size - 1}`);
      if (problems.length > 0)
        this.mismatches.push(
          `the checkpoint at size ${note.size} ${note.from} does not match: ${problems.join('; ')}`,
        );
    }
  }

  /** A signed checkpoint over every receipt pushed so far. */
  sign(signer: CheckpointSigner, now: Date): string {
    const head: ChainHead = {
      chain: this.chain,
      size: this.range.size,
      head_hash: this.headHash,
      last_timestamp: null,
      tree: this.range.toJSON(),
    };
    return signCheckpoint(checkpointOf(head, now), signer.key);
  }
}
