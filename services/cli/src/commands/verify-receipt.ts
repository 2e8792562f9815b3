import { createReadStream } from 'node:fs';
import { AccountId, tenantChain } from '@governor/contracts';
import {
  archiveRecords,
  ChainVerifier,
  checkpointSignatureProblem,
  formatIssue,
  inclusionProof,
  Keyring,
  leafHash,
  parseCheckpoint,
  verifyInclusion,
  type VerifyIssue,
} from '@governor/receipts';
import { parse, required } from '../args';
import { CliError, EXIT } from '../errors';
import { openLines, readText } from '../io';
import { loadKeyring } from './keys';

const USAGE =
  'governor verify-receipt --receipt-id ID --account-id ACCOUNT --from FILE.jsonl|FILE.tar.gz [--keys keys.json] [--checkpoint FILE.note] [--json]';

export const verifyReceiptHelp = `${USAGE}
  Verifies one receipt: its bytes, schema, hash, signature and key validity, its links to the
  receipts before and after it, and (with a checkpoint: --checkpoint, or the newest one inside an
  archive) an RFC 6962 inclusion proof of it against the signed checkpoint's Merkle root.
  --keys is required for a .jsonl export; an archive carries its own keys.json.
  Exit 0 valid, 1 invalid or not found, 2 usage or I/O error.`;

interface Found {
  line: string;
  seq: number;
  prev?: string;
  next?: string;
}

async function readArchiveExtras(path: string): Promise<{ keys?: string; notes: string[] }> {
  // Small second pass over the archive for keys.json and checkpoints: they are tiny.
  const { default: tar } = await import('tar-stream');
  const { createGunzip } = await import('node:zlib');
  const { pipeline } = await import('node:stream/promises');
  const extract = tar.extract();
  const feeding = pipeline(createReadStream(path), createGunzip(), extract);
  const out: { keys?: string; notes: string[] } = { notes: [] };
  for await (const entry of extract) {
    const name = entry.header.name;
    if (name === 'keys.json' || name.startsWith('checkpoints/')) {
      const chunks: Buffer[] = [];
      for await (const c of entry) chunks.push(c as Buffer);
      const text = Buffer.concat(chunks).toString('utf8');
      if (name === 'keys.json') out.keys = text;
      else out.notes.push(text);
    } else entry.resume();
  }
  await feeding;
  return out;
}

export async function verifyReceiptCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      'receipt-id': { type: 'string' },
      'account-id': { type: 'string' },
      from: { type: 'string' },
      keys: { type: 'string' },
      checkpoint: { type: 'string' },
      json: { type: 'boolean' },
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
  const from = required(values.from, '--from', USAGE);
  const isArchive = from.endsWith('.tar.gz') || from.endsWith('.tgz');

  let keyring: Keyring;
  let checkpointText: string | undefined =
    typeof values.checkpoint === 'string' ? await readText(values.checkpoint, 'checkpoint') : undefined;
  if (isArchive) {
    const extras = await readArchiveExtras(from).catch((e: Error) => {
      throw new CliError(`cannot read archive ${from}: ${e.message}`);
    });
    if (typeof values.keys === 'string') keyring = await loadKeyring(values.keys);
    else if (extras.keys) keyring = Keyring.fromJson(extras.keys);
    else throw new CliError(`${from} has no keys.json; pass --keys`);
    if (!checkpointText && extras.notes.length > 0) {
      checkpointText = extras.notes.sort(
        (a, b) => parseCheckpoint(b).checkpoint.size - parseCheckpoint(a).checkpoint.size,
      )[0];
    }
  } else {
    keyring = await loadKeyring(
      required(values.keys, '--keys keys.json (required for a .jsonl export)', USAGE),
    );
  }

  const lines = isArchive ? archiveRecords(createReadStream(from)) : await openLines(from);
  const leaves: Buffer[] = [];
  let found: Found | undefined;
  let previous: string | undefined;
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let body: { receipt_id?: unknown; seq?: unknown };
    try {
      const record = JSON.parse(line) as { body: string };
      leaves.push(leafHash(record.body));
      body = JSON.parse(record.body) as typeof body;
    } catch {
      leaves.push(Buffer.alloc(32));
      previous = line;
      continue;
    }
    if (found && found.next === undefined) found.next = line;
    if (body.receipt_id === receiptId && !found) {
      found = {
        line,
        seq: typeof body.seq === 'number' ? body.seq : leaves.length - 1,
        ...(previous !== undefined ? { prev: previous } : {}),
      };
    }
    previous = line;
  }

  const issues: VerifyIssue[] = [];
  let proof: Buffer[] = [];
  let checkpointInfo: { size: number; root: string } | null = null;
  if (!found) {
    issues.push({ code: 'NOT_FOUND', seq: null, detail: `no receipt ${receiptId} in ${from}` });
  } else {
    // Verify the receipt with its neighbours as a segment: its own checks, and both links.
    const segment = [found.prev, found.line, found.next].filter((l): l is string => l !== undefined);
    const first = JSON.parse((JSON.parse(segment[0] as string) as { body: string }).body) as {
      seq: number;
      prev_hash: string;
    };
    const verifier = new ChainVerifier({
      keyring,
      expectedChain: tenantChain(accountId),
      threads: 0,
      from: { seq: first.seq, prev_hash: first.prev_hash },
    });
    for (const l of segment) await verifier.push(l);
    const report = await verifier.finish();
    issues.push(...report.issues);
    if (found.prev === undefined && found.seq > 0)
      issues.push({
        code: 'SEQ_GAP',
        seq: found.seq - 1,
        detail: 'the receipt before it is not in the source, so its back link is unproven',
      });

    if (checkpointText !== undefined) {
      try {
        const note = parseCheckpoint(checkpointText);
        const cp = note.checkpoint;
        checkpointInfo = { size: cp.size, root: cp.root.toString('base64') };
        const trust = checkpointSignatureProblem(note, keyring);
        if (trust !== null) issues.push({ code: 'CHECKPOINT_MISMATCH', seq: cp.size - 1, detail: trust });
        if (cp.origin !== `governor/${tenantChain(accountId)}`)
          issues.push({ code: 'CHECKPOINT_MISMATCH', seq: null, detail: `checkpoint is for ${cp.origin}` });
        if (found.seq >= cp.size)
          issues.push({
            code: 'INCLUSION_FAILED',
            seq: found.seq,
            detail: `the checkpoint covers seq 0..${cp.size - 1}; use a newer checkpoint`,
          });
        else if (cp.size > leaves.length)
          issues.push({
            code: 'TRUNCATED',
            seq: leaves.length,
            detail: `the source has ${leaves.length} receipts, the checkpoint covers ${cp.size}`,
          });
        else {
          proof = inclusionProof(leaves, found.seq, cp.size);
          if (!verifyInclusion(leaves[found.seq] as Buffer, found.seq, cp.size, proof, cp.root)) {
            issues.push({
              code: 'INCLUSION_FAILED',
              seq: found.seq,
              detail: 'the audit path does not lead to the checkpoint root',
            });
          }
        }
      } catch (e) {
        issues.push({ code: 'CHECKPOINT_MISMATCH', seq: null, detail: (e as Error).message });
      }
    }
  }

  const ok = issues.length === 0;
  const result = {
    ok,
    receipt_id: receiptId,
    account_id: accountId,
    seq: found?.seq ?? null,
    leaf_hash: found ? (leaves[found.seq]?.toString('hex') ?? null) : null,
    inclusion: checkpointInfo
      ? {
          tree_size: checkpointInfo.size,
          root: checkpointInfo.root,
          audit_path: proof.map((p) => p.toString('hex')),
        }
      : null,
    issues,
  };
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
    const inclusion = checkpointInfo
      ? `included in checkpoint of size ${checkpointInfo.size} (audit path of ${proof.length} hashes)`
      : 'no checkpoint given: inclusion not proven';
    process.stdout.write(
      ok
        ? `VALID: receipt ${receiptId} at seq ${result.seq} of tenants/${accountId}; ${inclusion}\n`
        : `INVALID: receipt ${receiptId}, ${issues.length} issue(s)\n`,
    );
  }
  return ok ? EXIT.VALID : EXIT.INVALID;
}
