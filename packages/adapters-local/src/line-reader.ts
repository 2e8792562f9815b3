import { createReadStream } from 'node:fs';

/** One line of a file: its text (without the newline) and the byte range it occupies. */
export interface FileLine {
  readonly text: string;
  /** Offset of the line's first byte. */
  readonly start: number;
  /** Offset just past the line's newline, or past its last byte when `complete` is false. */
  readonly end: number;
  /** False for trailing bytes with no newline after them: a torn write. */
  readonly complete: boolean;
}

/**
 * Streams the lines of `path` from byte `start` up to byte `end` (exclusive), with their byte
 * offsets, holding one chunk and one partial line at a time.
 */
export async function* readLines(path: string, start: number, end?: number): AsyncGenerator<FileLine> {
  if (end !== undefined && end <= start) return;
  const stream = createReadStream(path, end === undefined ? { start } : { start, end: end - 1 });
  let carry: Buffer = Buffer.alloc(0);
  let carryStart = start;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const buffer = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    let from = 0;
    for (let nl = buffer.indexOf(10, from); nl !== -1; nl = buffer.indexOf(10, from)) {
      yield {
        text: buffer.toString('utf8', from, nl),
        start: carryStart + from,
        end: carryStart + nl + 1,
        complete: true,
      };
      from = nl + 1;
    }
    carry = buffer.subarray(from);
    carryStart += from;
  }
  if (carry.length > 0)
    yield {
      text: carry.toString('utf8'),
      start: carryStart,
      end: carryStart + carry.length,
      complete: false,
    };
}
