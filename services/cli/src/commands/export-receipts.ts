import { createWriteStream, promises as fs } from 'node:fs';
import { AccountId, tenantChain } from '@governor/contracts';
import { parse, required } from '../args';
import { BACKEND_HELP, backendOption, parseBackend } from '../backend';
import { CliError, EXIT } from '../errors';
import { checkpointSigner, planTail, storedNotes, TailCheck, type TailPlan } from '../export-checkpoint';
import { chainLines, chainRecords, openChainSource, recordLine, requireChain } from '../stored-chain';

const USAGE =
  'governor export-receipts --account-id ACCOUNT [--format jsonl|json] [--out FILE] [--checkpoint-out FILE.note] [--backend local|gcp] [--data-dir DIR]';

export const exportHelp = `${USAGE}
  Writes a tenant's stored receipts to stdout (or --out FILE), in seq order, exactly as stored
  (the body bytes are never re-serialised): one record per line (jsonl, the default; what
  verify-chain reads), or one JSON array. Reads the embedded default's ledger in --data-dir
  (default .governor), or with --backend gcp the chain in Firestore.
  --checkpoint-out FILE.note also writes a signed checkpoint whose size is the number of
  receipts exported, so that verify-chain --checkpoint FILE.note detects a cut after the last
  one. That is the latest stored checkpoint (witnessed in Cloud Storage, or the ledger's own)
  when it covers the whole chain. When receipts were written after it, one is signed on demand
  over every exported receipt, with GOVERNOR_SIGNING_KEY_FILE or the embedded default's key in
  DIR/keys, once the export proved to match the stored checkpoints; without a key the export
  stops at the latest stored checkpoint and says how many later receipts it left out. A ledger
  that holds fewer receipts than a signed checkpoint covers, or does not match one, is exported
  with that checkpoint (verify-chain then reports it) and exits 1. Nothing is written to a store.
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

/** One line on stderr per fact about the checkpoint: stdout may be the export itself. */
const say = (line: string) => process.stderr.write(`${line}\n`);

export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      'account-id': { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      'checkpoint-out': { type: 'string' },
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
  const checkpointOut =
    values['checkpoint-out'] === undefined
      ? undefined
      : required(values['checkpoint-out'], '--checkpoint-out FILE.note', USAGE);
  const backend = parseBackend(values.backend);
  const dataDir = typeof values['data-dir'] === 'string' ? values['data-dir'] : undefined;
  const source = await openChainSource(backend, dataDir);
  try {
    const chain = tenantChain(accountId);
    if (checkpointOut === undefined) {
      await requireChain(source, chain, accountId);
      const out = await output(typeof values.out === 'string' ? values.out : undefined);
      await writeExport(out, format, chainLines(source, chain));
      return EXIT.VALID;
    }
    // The checkpoints first, then the head: a checkpoint is stored after the receipts it
    // covers, so one larger than the head read after it means the ledger lost receipts.
    const notes = await storedNotes(source, chain, say);
    const head = await requireChain(source, chain, accountId);
    const now = new Date();
    const { signer, why } = notes.some((n) => n.size === head.size)
      ? { signer: null, why: '' }
      : await checkpointSigner(backend, dataDir, process.env, now);
    const plan = planTail(chain, head.size, notes, signer, why);
    const check = new TailCheck(chain, notes);
    const out = await output(typeof values.out === 'string' ? values.out : undefined);
    async function* lines() {
      for await (const record of chainRecords(source, chain, { limit: plan.count })) {
        check.push(record);
        yield recordLine(record);
      }
    }
    await writeExport(out, format, lines());
    if (check.size !== plan.count)
      throw new CliError(
        `${source.where} returned ${check.size} receipts of ${chain}, not the ${plan.count} its head had`,
      );
    return await writeCheckpoint(checkpointOut, plan, check, now, chain);
  } finally {
    await source.close();
  }
}

async function writeExport(
  out: Awaited<ReturnType<typeof output>>,
  format: 'jsonl' | 'json',
  lines: AsyncIterable<string>,
): Promise<void> {
  let first = true;
  if (format === 'json') await out.write('[');
  for await (const line of lines) {
    await out.write(format === 'json' ? (first ? '\n  ' : ',\n  ') + line : line + '\n');
    first = false;
  }
  if (format === 'json') await out.write('\n]\n');
  await out.end();
}

/** Writes the plan's checkpoint (or the one signed now) and says what it proves; 1 when the ledger disagrees with a signed checkpoint. */
async function writeCheckpoint(
  path: string,
  plan: TailPlan,
  check: TailCheck,
  now: Date,
  chain: string,
): Promise<number> {
  let note: string;
  let status: number = EXIT.VALID;
  const lines: string[] = [];
  const mismatch = check.mismatches.length > 0;
  if (mismatch) {
    status = EXIT.INVALID;
    lines.push(...check.mismatches.map((m) => `CHECKPOINT_MISMATCH ${m}`));
  }
  switch (plan.kind) {
    case 'stored':
      note = plan.note.text;
      lines.push(
        `checkpoint: size ${plan.note.size}, ${plan.note.from}, covers all ${plan.count} exported receipts`,
      );
      break;
    case 'cut':
      note = plan.note.text;
      lines.push(
        `checkpoint: size ${plan.note.size}, ${plan.note.from}, the latest signed one: exported seq 0 to ${plan.count - 1} only; ` +
          (plan.left === 1
            ? `1 later receipt of ${chain} (seq ${plan.count}) was left out, as no signed checkpoint covers it yet`
            : `${plan.left} later receipts of ${chain} (seq ${plan.count} to ${plan.count + plan.left - 1}) were left out, as no signed checkpoint covers them yet`) +
          ` and no key is at hand to take one (${plan.noSigner})`,
      );
      break;
    case 'truncated':
      status = EXIT.INVALID;
      note = plan.note.text;
      lines.push(
        `TRUNCATED the ledger holds ${plan.count} receipts of ${chain}, but a signed checkpoint ${plan.note.from} covers ${plan.note.size}: ` +
          'receipts were lost or cut from the ledger; that checkpoint is written, so verify-chain reports the cut',
      );
      break;
    case 'sign':
      if (mismatch && plan.latest !== null) {
        note = plan.latest.text;
        lines.push(
          `checkpoint: none signed on demand, as the export does not match a stored checkpoint; the latest stored one (size ${plan.latest.size}, ${plan.latest.from}) is written instead`,
        );
      } else {
        note = check.sign(plan.signer, now);
        lines.push(
          `checkpoint: size ${plan.count}, signed on demand now with key ${plan.signer.key.keyId} (${plan.signer.file}), covers all ${plan.count} exported receipts; ` +
            (plan.latest === null
              ? 'no checkpoint was stored before'
              : `the latest stored one (size ${plan.latest.size}, ${plan.latest.from}) matches them`),
        );
      }
      break;
  }
  try {
    await fs.writeFile(path, note);
  } catch (e) {
    throw new CliError(
      `cannot write ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      2,
      {
        cause: e,
      },
    );
  }
  for (const line of lines) say(line);
  return status;
}
