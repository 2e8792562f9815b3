import { AccountId, ChainId, tenantChain } from '@governor/contracts';
import { ChainVerifier } from '@governor/receipts';
import { list, parse, type Value } from '../args';
import { BACKEND_HELP, backendOption, parseBackend } from '../backend';
import { CliError } from '../errors';
import { openLines, progress, readText } from '../io';
import { noteSize } from '../receipt-proof';
import { printChainReport } from '../report';
import { chainLines, openChainSource, requireChain, type ChainSource } from '../stored-chain';
import { loadKeyring, trustedKeys } from './keys';

const USAGE =
  'governor verify-chain (FILE.jsonl|- | --account-id ACCOUNT | --chain tenants/ID|workers/ID) [--backend local|gcp] [--data-dir DIR] --keys keys.json [--checkpoint FILE.note ...] [--mode full|checkpoint] [--allow-empty] [--json]';

export const verifyChainHelp = `${USAGE}
  Verifies a chain: canonical bytes, schema, leaf hashes, links, seqs, timestamps, signatures and
  key validity, and consistency with each signed checkpoint.
  The chain is an export (FILE, or - for stdin), or a stored chain read from --backend
  (--account-id ACCOUNT for tenants/ACCOUNT, or --chain for any chain, workers/ID included):
  the embedded default's ledger in --data-dir (default .governor) with its latest checkpoint, or
  with --backend gcp the chain in Firestore, checked against the latest checkpoint witnessed in
  Cloud Storage (gs://BUCKET/checkpoints/CHAIN/SIZE.note) and the latest one in Firestore. The
  checkpoints used are named with their sizes; without one the chain is still verified, and the
  output says that a cut after its last receipt cannot be detected.
  --keys is required, as in every verify command (only an archive can vouch for its own keys:
  verify-archive --trust-archive-keys).
  ${BACKEND_HELP}
  --mode checkpoint checks hashes and links only, trusting signatures on checkpoints (faster).
  An input with no receipt at all is INVALID (EMPTY) unless --allow-empty says it is expected.
  Exit 0 valid, 1 invalid (one line per issue: CODE seq=N detail), 2 usage or I/O error.`;

/** The stored chain named by --account-id or --chain, or null for a file. */
function storedChain(values: Record<string, Value>): string | null {
  const account = values['account-id'];
  const chain = values.chain;
  if (account !== undefined && chain !== undefined)
    throw new CliError('give --account-id or --chain, not both');
  if (typeof account === 'string') {
    if (!AccountId.safeParse(account).success)
      throw new CliError(`--account-id "${account}" is not a valid account id (^[a-z][a-z0-9-]{2,62}$)`);
    return tenantChain(account);
  }
  if (typeof chain === 'string') {
    if (!ChainId.safeParse(chain).success)
      throw new CliError(
        `--chain must be tenants/{account_id} or workers/{worker_id} with an id matching ^[a-z][a-z0-9-]{2,62}$, got "${chain}"`,
      );
    return chain;
  }
  return null;
}

interface UsedCheckpoint {
  readonly from: 'witness' | 'ledger';
  readonly size: number | null;
  readonly location: string;
}

/** The stored chain's latest checkpoints: the witness's (Cloud Storage) and the ledger's own. */
async function storedCheckpoints(
  source: ChainSource,
  chain: string,
): Promise<{ notes: string[]; used: UsedCheckpoint[] }> {
  const notes: string[] = [];
  const used: UsedCheckpoint[] = [];
  try {
    if (source.witness) {
      const note = await source.witness.latest(chain);
      const size = note === null ? null : noteSize(note);
      used.push({
        from: 'witness',
        size,
        location: `${source.witnessAt(chain)}${note === null ? '' : `${size ?? '?'}.note`}`,
      });
      if (note !== null) notes.push(note);
    }
    const note = await source.ledger.latestCheckpoint(chain);
    used.push({ from: 'ledger', size: note === null ? null : noteSize(note), location: source.where });
    if (note !== null && !notes.includes(note)) notes.push(note);
  } catch (e) {
    throw source.failure(`cannot read the checkpoints of ${chain}`, e);
  }
  return { notes, used };
}

function describe(used: readonly UsedCheckpoint[], chain: string): string[] {
  const lines = used.map((u) =>
    u.size === null
      ? `checkpoint: none ${u.from === 'witness' ? `witnessed for ${chain} in ${u.location}` : `stored in ${u.location}`}`
      : `checkpoint: size ${u.size} ${u.from === 'witness' ? `witnessed in ${u.location}` : `stored in ${u.location}`}`,
  );
  const witness = used.find((u) => u.from === 'witness');
  const ledger = used.find((u) => u.from === 'ledger');
  // With no checkpoint at all, the report's warning says what that means.
  if (witness?.size === null && ledger?.size != null)
    lines.push(
      "note: no witnessed checkpoint: the chain was verified against the ledger's own checkpoint, which is not independent of the ledger",
    );
  return lines;
}

export async function verifyChainCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parse(
    argv,
    {
      keys: { type: 'string' },
      checkpoint: { type: 'string', multiple: true },
      mode: { type: 'string' },
      json: { type: 'boolean' },
      'allow-empty': { type: 'boolean' },
      'account-id': { type: 'string' },
      chain: { type: 'string' },
      'data-dir': { type: 'string' },
      ...backendOption,
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(verifyChainHelp + '\n');
    return 0;
  }
  const chain = storedChain(values);
  const file = positionals[0];
  if (chain !== null && positionals.length > 0)
    throw new CliError(`give FILE or --account-id/--chain, not both\nusage: ${USAGE}`);
  if (chain === null && (file === undefined || positionals.length > 1))
    throw new CliError(
      `expected exactly one FILE.jsonl (or - for stdin), or --account-id/--chain for a stored chain\nusage: ${USAGE}`,
    );
  const backend = parseBackend(values.backend);
  if (chain === null && values.backend !== undefined)
    throw new CliError('--backend reads a stored chain: give --account-id or --chain instead of FILE');
  const mode = values.mode ?? 'full';
  if (mode !== 'full' && mode !== 'checkpoint')
    throw new CliError(`--mode must be full or checkpoint, got "${String(mode)}"`);
  const keyring = await loadKeyring(trustedKeys(values, false, USAGE).keys);
  const checkpoints = await Promise.all(list(values.checkpoint).map((p) => readText(p, 'checkpoint')));

  let source: ChainSource | null = null;
  let used: UsedCheckpoint[] = [];
  let lines: AsyncIterable<string>;
  if (chain !== null) {
    source = await openChainSource(
      backend,
      typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined,
    );
    await requireChain(source, chain);
    const stored = await storedCheckpoints(source, chain);
    checkpoints.push(...stored.notes.filter((n) => !checkpoints.includes(n)));
    used = stored.used;
    lines = chainLines(source, chain);
  } else lines = await openLines(file as string);

  const what = chain === null ? (file as string) : `${chain} from ${source?.where ?? ''}`;
  const verifier = new ChainVerifier({
    keyring,
    checkpoints,
    mode,
    allowEmpty: values['allow-empty'] === true,
    ...(chain !== null ? { expectedChain: chain } : {}),
  });
  const bar = progress('receipts verified');
  let n = 0;
  try {
    for await (const line of lines) {
      await verifier.push(line);
      // At a limit (too many issues or blank lines) the verdict is INVALID: stop reading.
      if (verifier.stopped) break;
      bar.tick(++n);
    }
  } catch (e) {
    // The worker threads must end, or the process would never exit.
    await verifier.close();
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${what}: ${(e as Error).message}`, 2, { cause: e });
  } finally {
    bar.done();
    await source?.close();
  }
  const report = await verifier.finish();
  if (chain === null) return printChainReport(report, values.json === true);
  return printChainReport(report, values.json === true, {
    notes: describe(used, chain),
    extra: { source: { backend, chain, ledger: source?.where, checkpoints: used } },
  });
}
