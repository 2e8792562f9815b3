import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Keyring, verifyLines } from '../index';
import { buildChain } from './helpers';

// Golden vectors: a deterministic chain (fixed seed, times and ids) whose bytes must never
// change. Another implementation can check itself against these files.
// Regenerate deliberately with UPDATE_GOLDEN=1.
const dir = join(__dirname, '..', '..', 'fixtures', 'valid-chain');
const chain = buildChain(40);
const files = {
  'receipts.jsonl': chain.lines.join('\n') + '\n',
  'checkpoint.note': chain.checkpoint,
  'keys.json': chain.keyring.toJson(),
};

if (process.env.UPDATE_GOLDEN === '1' || !existsSync(dir)) {
  mkdirSync(dir, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
}

describe('golden vectors', () => {
  it.each(Object.keys(files))('%s is reproduced byte for byte', (name) => {
    expect(readFileSync(join(dir, name), 'utf8')).toBe(files[name as keyof typeof files]);
  });

  it('the golden chain verifies against its checkpoint and keys', async () => {
    const read = (name: string) => readFileSync(join(dir, name), 'utf8');
    const report = await verifyLines(read('receipts.jsonl').split('\n'), {
      keyring: Keyring.fromJson(read('keys.json')),
      checkpoints: [read('checkpoint.note')],
      threads: 0,
    });
    expect(report).toMatchObject({ ok: true, count: 40, checkpoints_verified: 1 });
  });
});
