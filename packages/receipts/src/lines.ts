import type { Readable } from 'node:stream';

/** Splits a byte stream into UTF-8 lines without holding more than one chunk and one line. */
export async function* splitLines(
  input: Readable | AsyncIterable<Buffer | string>,
  onChunk?: (chunk: Buffer) => void,
): AsyncGenerator<string> {
  let rest = '';
  const decoder = new TextDecoder('utf-8');
  for await (const raw of input as AsyncIterable<Buffer | string>) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
    onChunk?.(chunk);
    const text = rest + decoder.decode(chunk, { stream: true });
    const parts = text.split('\n');
    rest = parts.pop() ?? '';
    for (const part of parts) yield part;
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}
