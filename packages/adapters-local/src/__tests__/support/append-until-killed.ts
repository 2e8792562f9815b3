// Child process of file-ledger.sigkill.test.ts: appends batches to one chain until it is killed,
// printing the chain size after every append that resolved (that is, every durable batch).
import { emptyHead, SigningKey } from '@governor/receipts';
import { buildEntries } from '@governor/testkit';
import { FileLedger } from '../../file-ledger';

async function main(root: string, chain: string, batch: number): Promise<void> {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 13));
  const ledger = await FileLedger.open(root);
  let head = (await ledger.head(chain)) ?? emptyHead(chain);
  process.stdout.write(`start ${head.size}\n`);
  for (;;) {
    const built = buildEntries(chain, batch, key, head);
    await ledger.append(chain, built.entries, built.head);
    head = built.head;
    process.stdout.write(`${head.size}\n`);
  }
}

const { LEDGER_ROOT, LEDGER_CHAIN, LEDGER_BATCH } = process.env;
main(LEDGER_ROOT ?? '', LEDGER_CHAIN ?? '', Number(LEDGER_BATCH ?? '5')).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
