import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock } from '@governor/governor';
import { parse } from '../args';
import { FaultLedger } from '../demo/fault-ledger';
import { simulatedEndpoint } from '../demo/handlers';
import { runScenario } from '../demo/scenario';
import { verifyAll, type DemoReport } from '../demo/verify-all';
import { EXIT } from '../errors';
import { openLocalStores, REPO_POLICIES } from '../local-stores';

const USAGE = 'governor demo [--data-dir DIR] [--json]';

export const demoHelp = `${USAGE}
  Runs every runbook on the embedded default (file ledger, in-process bus; no cloud, no
  emulators): provisions three tenants on different plans, runs fast, slow and failing actions,
  scales within and beyond quota, pushes a compatible and an incompatible policy, takes the
  store away until safe mode engages and heals, cancels a tenant. Then verifies every chain and
  archive and prints, per runbook, the receipts emitted and the verification result.
  Data goes to --data-dir (default: a new temporary folder). The demo's action endpoint is
  simulated in-process (params.mode picks fast, slow or failing). Exit 0 when everything
  verifies, 1 otherwise.`;

function table(report: DemoReport): string {
  const rows = report.runbooks.map((r) => [
    `${r.id}`,
    r.name,
    `${r.receipts}`,
    Object.entries(r.operations)
      .map(([op, n]) => `${op}×${n}`)
      .join(' '),
    r.verified ? 'verified' : 'FAILED',
  ]);
  const head = ['#', 'runbook', 'receipts', 'operations', 'verification'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] as number))
      .join('  ')
      .trimEnd();
  const chains = report.chains.map(
    (c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.chain} (${c.count} receipts) -> ${c.export_path}`,
  );
  const archives = report.archives.map(
    (a) => `  ${a.ok ? 'ok  ' : 'FAIL'} archive ${a.path} (${a.receipts} receipts)`,
  );
  return (
    [
      line(head),
      ...rows.map(line),
      '',
      'chains:',
      ...chains,
      ...archives,
      '',
      report.ok ? 'every chain and archive verified' : 'VERIFICATION FAILED',
    ].join('\n') + '\n'
  );
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, { 'data-dir': { type: 'string' }, json: { type: 'boolean' } }, USAGE);
  if (values.help) {
    process.stdout.write(demoHelp + '\n');
    return 0;
  }
  const dataDir =
    typeof values['data-dir'] === 'string'
      ? resolve(values['data-dir'])
      : mkdtempSync(join(tmpdir(), 'governor-demo-'));
  const say = (line: string) => process.stderr.write(`demo: ${line}\n`);
  say(`data in ${dataDir}`);
  const stores = await openLocalStores(dataDir);
  const ledger = new FaultLedger(stores.ledger);
  const started = Date.now();
  const { runtime, archives } = await runScenario(
    {
      workerId: 'demo-worker',
      ledger,
      directory: stores.directory,
      bus: stores.bus,
      archive: stores.archive,
      registry: stores.registry,
      spool: stores.spool,
      // Every handler is the simulated endpoint, so any action kind can be made slow or failing.
      handlers: { noop: simulatedEndpoint, http: simulatedEndpoint },
      alerts: stores.alerts,
      clock: systemClock,
      signer: stores.signer,
      keys: stores.keyring.entries(),
      policiesDir: REPO_POLICIES,
    },
    say,
  );
  const chains = [...new Set([...runtime.chains(), 'tenants/umbrella'])];
  say('verifying every chain and archive');
  const report = await verifyAll(
    stores.ledger,
    stores.archive,
    chains,
    archives,
    stores.keyring,
    join(dataDir, 'exports'),
  );
  say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  if (values.json) process.stdout.write(JSON.stringify({ data_dir: dataDir, ...report }, null, 2) + '\n');
  else process.stdout.write(table(report));
  return report.ok ? EXIT.VALID : EXIT.INVALID;
}
