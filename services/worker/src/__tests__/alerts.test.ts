import { join } from 'node:path';
import { spawnTs } from '@governor/testkit';

describe('alertOnUnhandledRejections', () => {
  it('turns a rejection nobody handles into a critical alert, and the process serves on (Node would exit 1)', async () => {
    const child = spawnTs(join(__dirname, 'support', 'unhandled-child.ts'), {});
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const [alert, after] = out.trim().split('\n');
    expect(JSON.parse(alert ?? '{}')).toMatchObject({
      severity: 'critical',
      code: 'UNHANDLED_REJECTION',
      message: expect.stringContaining('the archive store is gone') as unknown,
    });
    expect(after).toBe('still serving');
  });
});
