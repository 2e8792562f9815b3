import { createReadStream } from 'node:fs';
import { AccountId, tenantChain } from '@governor/contracts';
import {
  archiveExtras,
  archiveRecords,
  ChainVerifier,
  checkpointSignatureProblem,
  formatIssue,
  inclusionProof,
  Keyring,
  leafHash,
  parseCheckpoint,
  verifyInclusion,
  type SignedCheckpoint,
  type VerifyIssue,
} from '@governor/receipts';
import { parse, required } from '../args';
import { CliError, EXIT } from '../errors';
import { openLines, readText } from '../io';
import { loadKeyring } from './keys';

const USAGE =
  'governor verify-receipt --receipt-id ID --account-id ACCOUNT --from FILE.jsonl|FILE.tar.gz [--keys keys.json | --trust-archive-keys] [--checkpoint FILE.note] [--json]';

export const verifyReceiptHelp = `${USAGE}
  Verifies one receipt: its bytes, schema, hash, signature and key validity, its links to the
  receipts before and after it, and (with a checkpoint: --checkpoint, or the newest one inside an
  archive) an RFC 6962 inclusion proof of it against the signed checkpoint's Merkle root.
  --keys is required for a .jsonl export; for an archive, --trust-archive-keys accepts the keys it
  carries (integrity only: anyone can sign an archive with a key of their own).
  Exit 0 valid, 1 invalid or not found, 2 usage or I/O error.`;

interface Found {
  line: string;
  leaf: Buffer;
  seq: number;
  position: number;
  prev?: string;
  next?: string;
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
  let checkpointText =
    typeof values.checkpoint === 'string' ? await readText(values.checkpoint, 'checkpoint') : undefined;
  if (typeof values.keys === 'string') keyring = await loadKeyring(values.keys);
  else if (!isArchive)
    throw new CliError(`missing --keys keys.json (required for a .jsonl export)\nusage: ${USAGE}`);
  else if (!values['trust-archive-keys'])
    throw new CliError(
      `pass --keys with keys you trust, or --trust-archive-keys to accept the archive's own (integrity only)\nusage: ${USAGE}`,
    );
  else keyring = new Keyring([]);
  if (isArchive) {
    const extras = await archiveExtras(createReadStream(from)).catch((e: Error) => {
      throw new CliError(`cannot read archive ${from}: ${e.message}`);
    });
    if (typeof values.keys !== 'string') {
      if (!extras.keys) throw new CliError(`${from} has no keys.json; pass --keys`);
      keyring = Keyring.fromJson(extras.keys);
    }
    checkpointText ??= newest(extras.notes);
  }

  const lines = isArchive ? archiveRecords(createReadStream(from)) : await openLines(from);
  // Leaf hashes by file position, packed: 32 bytes a receipt, for the audit path.
  let leaves: Buffer = Buffer.alloc(32 * 1024);
  let count = 0;
  let found: Found | undefined;
  let duplicates = 0;
  let previous: string | undefined;
  try {
    for await (const line of lines) {
      if (line.trim() === '') continue;
      let body: { receipt_id?: unknown; seq?: unknown } = {};
      let leaf: Buffer = Buffer.alloc(32);
      try {
        const record = JSON.parse(line) as { body: string };
        leaf = leafHash(record.body);
        body = JSON.parse(record.body) as typeof body;
      } catch {
        // An unparseable line still occupies a position; it cannot be the receipt asked for.
      }
      if (leaves.length < (count + 1) * 32) leaves = Buffer.concat([leaves, Buffer.alloc(leaves.length)]);
      leaf.copy(leaves, count * 32);
      if (found && found.next === undefined) found.next = line;
      if (body.receipt_id === receiptId) {
        if (found) duplicates += 1;
        else {
          const seq = typeof body.seq === 'number' ? body.seq : -1;
          found = { line, leaf, seq, position: count, ...(previous !== undefined ? { prev: previous } : {}) };
        }
      }
      previous = line;
      count += 1;
    }
  } catch (e) {
    throw new CliError(`cannot read ${from}: ${(e as Error).message}`, 2, { cause: e });
  }
  const leafAt = (i: number) => leaves.subarray(i * 32, i * 32 + 32);

  const issues: VerifyIssue[] = [];
  let proof: Buffer[] = [];
  let checkpointInfo: { size: number; root: string } | null = null;
  if (!found) {
    issues.push({ code: 'NOT_FOUND', seq: null, detail: `no receipt ${receiptId} in ${from}` });
  } else {
    if (duplicates > 0)
      issues.push({
        code: 'FORK',
        seq: found.seq,
        detail: `receipt ${receiptId} appears ${duplicates + 1} times in the source`,
      });
    if (found.seq !== found.position) {
      issues.push({
        code: 'SEQ_GAP',
        seq: found.seq,
        detail: `the receipt claims seq ${found.seq} but stands at position ${found.position} of the source`,
      });
    }
    // The receipt with its neighbours, verified as a segment: its own checks and both links.
    const segment = [found.prev, found.line, found.next].filter((l): l is string => l !== undefined);
    let start: { seq: number; prev_hash: string } | null = null;
    try {
      const first = JSON.parse((JSON.parse(segment[0] as string) as { body: string }).body) as {
        seq: unknown;
        prev_hash: unknown;
      };
      if (typeof first.seq === 'number' && typeof first.prev_hash === 'string')
        start = { seq: first.seq, prev_hash: first.prev_hash };
    } catch {
      // The receipt before it is not a receipt: the back link cannot be proven.
    }
    if (start === null) {
      issues.push({
        code: 'CHAIN_BROKEN',
        seq: found.seq,
        detail: 'the line before the receipt is not a valid receipt',
      });
      segment.shift();
      start = {
        seq: found.seq,
        prev_hash: (JSON.parse((JSON.parse(found.line) as { body: string }).body) as { prev_hash: string })
          .prev_hash,
      };
    }
    const verifier = new ChainVerifier({
      keyring,
      expectedChain: tenantChain(accountId),
      threads: 0,
      from: start,
    });
    for (const l of segment) await verifier.push(l);
    issues.push(...(await verifier.finish()).issues);
    if (found.prev === undefined && found.seq > 0)
      issues.push({
        code: 'SEQ_GAP',
        seq: found.seq - 1,
        detail: 'the receipt before it is not in the source, so its back link is unproven',
      });

    if (checkpointText !== undefined) {
      let note: SignedCheckpoint | null = null;
      try {
        note = parseCheckpoint(checkpointText);
      } catch (e) {
        issues.push({ code: 'CHECKPOINT_MISMATCH', seq: null, detail: (e as Error).message });
      }
      if (note) {
        const cp = note.checkpoint;
        checkpointInfo = { size: cp.size, root: cp.root.toString('base64') };
        const trust = checkpointSignatureProblem(note, keyring);
        if (trust !== null) issues.push({ code: 'CHECKPOINT_MISMATCH', seq: cp.size - 1, detail: trust });
        if (cp.origin !== `governor/${tenantChain(accountId)}`)
          issues.push({ code: 'CHECKPOINT_MISMATCH', seq: null, detail: `checkpoint is for ${cp.origin}` });
        if (found.seq < 0 || found.seq >= cp.size)
          issues.push({
            code: 'INCLUSION_FAILED',
            seq: found.seq,
            detail: `the checkpoint covers seq 0..${cp.size - 1}; use a newer checkpoint`,
          });
        else if (cp.size > count)
          issues.push({
            code: 'TRUNCATED',
            seq: count,
            detail: `the source has ${count} receipts, the checkpoint covers ${cp.size}`,
          });
        else {
          const all = Array.from({ length: cp.size }, (_, i) => leafAt(i));
          proof = inclusionProof(all, found.seq, cp.size);
          // The proof must carry this receipt's own leaf, not whatever stands at its position.
          if (!verifyInclusion(found.leaf, found.seq, cp.size, proof, cp.root)) {
            issues.push({
              code: 'INCLUSION_FAILED',
              seq: found.seq,
              detail: 'the receipt is not the leaf the checkpoint commits to at its seq',
            });
          }
        }
      }
    }
  }

  const ok = issues.length === 0;
  const result = {
    ok,
    receipt_id: receiptId,
    account_id: accountId,
    seq: found?.seq ?? null,
    leaf_hash: found?.leaf.toString('hex') ?? null,
    inclusion: checkpointInfo
      ? {
          tree_size: checkpointInfo.size,
          root: checkpointInfo.root,
          audit_path: proof.map((p) => p.toString('hex')),
        }
      : null,
    keys_source: typeof values.keys === 'string' ? 'keyring' : 'archive',
    issues,
  };
  if (values.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
    if (result.keys_source === 'archive')
      process.stdout.write("note: verified against the archive's own keys (integrity only)\n");
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
