// Child process of file-ledger.sigkill.test.ts: appends batches to one chain until it is killed,
// printing the chain size after every append that resolved (that is, every durable batch). With
// LEDGER_ACTIONS=1, each batch settles an action written ahead before it, carried by its last
// receipt: `b{seq}`, started at `seq` (so a count from a seq finds the actions of later batches).
import type { ActionLogEntry } from '@governor/governor';
import { emptyHead, SigningKey } from '@governor/receipts';
import { buildEntries } from '@governor/testkit';
import { FileLedger } from '../../file-ledger';

function action(seq: number, state: ActionLogEntry['state']): ActionLogEntry {
  return {
    action_id: `b${seq}`,
    kind: 'noop',
    signal_id: `s${seq}`,
    state,
    deadline_at: 1_795_000_000_000,
    recoverable: true,
    started_at: seq,
  };
}

async function main(root: string, chain: string, batch: number, actions: boolean): Promise<void> {
  const key = SigningKey.fromSeed(Buffer.alloc(32, 13));
  const ledger = await FileLedger.open(root);
  let head = (await ledger.head(chain)) ?? emptyHead(chain);
  process.stdout.write(`start ${head.size}\n`);
  for (;;) {
    const built = buildEntries(chain, batch, key, head);
    const last = built.head.size - 1;
    if (actions) await ledger.startActions(chain, [action(last, 'running')]);
    const entries = actions
      ? built.entries.map((e) => (e.seq === last ? { ...e, action: action(last, 'complete') } : e))
      : built.entries;
    await ledger.append(chain, entries, built.head);
    head = built.head;
    process.stdout.write(`${head.size}\n`);
  }
}

const { LEDGER_ROOT, LEDGER_CHAIN, LEDGER_BATCH, LEDGER_ACTIONS } = process.env;
main(LEDGER_ROOT ?? '', LEDGER_CHAIN ?? '', Number(LEDGER_BATCH ?? '5'), LEDGER_ACTIONS === '1').catch(
  (e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
