import { tenantChain } from '@governor/contracts';
import {
  ChainVerifier,
  checkpointSignatureProblem,
  formatIssue,
  leafHash,
  parseCheckpoint,
  type Keyring,
  type SignedCheckpoint,
  type VerifyIssue,
} from '@governor/receipts';
import { proveInclusion } from '@governor/stores';
import { CliError, EXIT } from './errors';

/** A checkpoint note's size, or null when it does not parse (its verification reports why). */
export function noteSize(text: string): number | null {
  try {
    return parseCheckpoint(text).checkpoint.size;
  } catch {
    return null;
  }
}

interface Found {
  line: string;
  leaf: Buffer;
  seq: number;
  position: number;
  prev?: string;
  next?: string;
}

export interface VerifyOneInput {
  readonly receiptId: string;
  readonly accountId: string;
  /** The chain's records, one export line each, in seq order. */
  readonly lines: AsyncIterable<string>;
  /** Where the lines come from, for messages. */
  readonly from: string;
  readonly keyring: Keyring;
  readonly keysSource: 'keyring' | 'archive';
  readonly checkpointText: string | undefined;
  /** Where the checkpoint came from, when it was found rather than given (printed with the verdict). */
  readonly checkpointFrom?: string;
  readonly json: boolean;
}

/** Finds the receipt in `lines` and verifies it, its links and (with a checkpoint) its inclusion. */
export async function verifyOne(input: VerifyOneInput): Promise<number> {
  const { receiptId, accountId, lines, from, keyring, checkpointText } = input;
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
    if (e instanceof CliError) throw e;
    throw new CliError(`cannot read ${from}: ${(e as Error).message}`, 2, { cause: e });
  }
  const leafAt = (i: number) => leaves.subarray(i * 32, i * 32 + 32);

  const issues: VerifyIssue[] = [];
  let proof: readonly Buffer[] = [];
  let checkpointInfo: { size: number; root: string } | null = null;
  let uncovered: number | null = null;
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
        if (found.seq >= cp.size && input.checkpointFrom !== undefined) {
          // The latest stored checkpoint predates the receipt: nothing to prove it against yet.
          uncovered = cp.size;
        } else if (found.seq < 0 || found.seq >= cp.size)
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
          const included = proveInclusion(all, found.leaf, found.seq, cp);
          proof = included.auditPath;
          if (!included.verified) {
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
    inclusion:
      checkpointInfo && uncovered === null
        ? {
            tree_size: checkpointInfo.size,
            root: checkpointInfo.root,
            audit_path: proof.map((p) => p.toString('hex')),
          }
        : null,
    keys_source: input.keysSource,
    ...(input.checkpointFrom !== undefined ? { checkpoint_source: input.checkpointFrom } : {}),
    issues,
    warnings:
      ok && !checkpointInfo
        ? [
            'no signed checkpoint was checked: the receipt and its links are verified, its inclusion in the chain is not proven; pass --checkpoint FILE.note',
          ]
        : [],
  };
  if (input.json) process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  else {
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const issue of issues) process.stdout.write(formatIssue(issue) + '\n');
    if (result.keys_source === 'archive')
      process.stdout.write("note: verified against the archive's own keys (integrity only)\n");
    const where = input.checkpointFrom === undefined ? '' : ` ${input.checkpointFrom}`;
    const inclusion =
      uncovered !== null
        ? `newer than the latest checkpoint (size ${uncovered}${where}): inclusion not proven yet`
        : checkpointInfo
          ? `included in checkpoint of size ${checkpointInfo.size}${where} (audit path of ${proof.length} hashes)`
          : input.checkpointFrom === undefined
            ? 'no checkpoint given: inclusion not proven'
            : `no checkpoint ${input.checkpointFrom}: inclusion not proven`;
    process.stdout.write(
      ok
        ? `VALID: receipt ${receiptId} at seq ${result.seq} of tenants/${accountId}; ${inclusion}\n`
        : `INVALID: receipt ${receiptId}, ${issues.length} issue(s)\n`,
    );
  }
  return ok ? EXIT.VALID : EXIT.INVALID;
}
