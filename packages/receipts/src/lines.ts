import type { Readable } from 'node:stream';
import { DEFAULT_LIMITS } from './limits';

/** Stands in for a line longer than `maxLineBytes`; a verifier reports it instead of buffering it. */
export const OVERSIZE_LINE = '\u0000governor:oversize-line\u0000';

/** No stored receipt comes near this; a longer line is hostile or corrupt. */
export const MAX_LINE_BYTES = DEFAULT_LIMITS.maxLineBytes;

/**
 * Splits a byte stream into UTF-8 lines in linear time, holding at most one line of at most
 * `maxLineBytes` (longer lines are skipped and yielded as OVERSIZE_LINE).
 */
export async function* splitLines(
  input: Readable | AsyncIterable<Buffer | string>,
  onChunk?: (chunk: Buffer) => void,
  maxLineBytes = MAX_LINE_BYTES,
): AsyncGenerator<string> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let oversize = false;
  for await (const raw of input as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    onChunk?.(chunk);
    let start = 0;
    for (let nl = chunk.indexOf(0x0a, start); nl !== -1; nl = chunk.indexOf(0x0a, start)) {
      const piece = chunk.subarray(start, nl);
      if (oversize || partBytes + piece.length > maxLineBytes) yield OVERSIZE_LINE;
      else
        yield parts.length === 0 ? piece.toString('utf8') : Buffer.concat([...parts, piece]).toString('utf8');
      parts = [];
      partBytes = 0;
      oversize = false;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (rest.length > 0 && !oversize) {
      if (partBytes + rest.length > maxLineBytes) {
        oversize = true;
        parts = [];
        partBytes = 0;
      } else {
        parts.push(Buffer.from(rest));
        partBytes += rest.length;
      }
    }
  }
  if (oversize) yield OVERSIZE_LINE;
  else if (partBytes > 0) yield Buffer.concat(parts).toString('utf8');
}
