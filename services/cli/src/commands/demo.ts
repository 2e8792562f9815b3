import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemClock } from '@governor/governor';
import { REPO_POLICIES } from '@governor/stores';
import { parse } from '../args';
import { FaultLedger } from '../demo/fault-ledger';
import { simulatedEndpoint } from '../demo/handlers';
import { runScenario } from '../demo/scenario';
import { verifyAll, type DemoReport } from '../demo/verify-all';
import { backendOption, parseBackend, parseSignals, signalsOption } from '../backend';
import { EXIT } from '../errors';
import { ensureDir } from '../io';
import { DEMO_WORKER, openGcpDemo, openLocalDemo } from '../demo/stores';

const USAGE = 'governor demo [--backend local|gcp [--signals pubsub|kafka]] [--data-dir DIR] [--json]';

export const demoHelp = `${USAGE}
  Runs every runbook on the embedded default (file ledger, in-process bus; no cloud, no
  emulators): provisions three tenants on different plans, runs fast, slow and failing actions,
  scales within and beyond quota, pushes a compatible and an incompatible policy, takes the
  store away until safe mode engages and heals, cancels a tenant. Then verifies every chain and
  archive and prints, per runbook, the receipts emitted and the verification result.
  Data goes to --data-dir (default: a new temporary folder). The demo's action endpoint is
  simulated in-process (params.mode picks fast, slow or failing). Exit 0 when everything
  verifies, 1 otherwise.
  --backend gcp runs the same scenario on Firestore, Pub/Sub and Cloud Storage, on the
  emulators only (eval "$(bash infra/local/backends.sh env)"). Each run gets a project of its
  own, governor-demo-YYYYMMDD-HHMMSS-XXXX, used as the Firestore and Pub/Sub project and as the
  bucket name, so every run starts with fresh tenants; GOVERNOR_PROJECT and GOVERNOR_BUCKET are
  not used. The repo's policies are published to gs://PROJECT/policies/, checkpoints are
  witnessed in gs://PROJECT/checkpoints/, and every chain is verified as read back from
  Firestore (against its witnessed checkpoint) and the archive as read back from Cloud Storage.
  --data-dir then holds the signing key (keys/signing-key.pem, keys/keys.json for verifiers),
  the safe-mode spool and the exports. Safe mode is still simulated (the ledger is wrapped so
  the demo can take it away); the stderr output names the project to inspect afterwards.
  --signals kafka (with --backend gcp) carries the tenant signals on Kafka instead of Pub/Sub:
  KAFKA_BROKERS (comma-separated host:port; default 127.0.0.1:9092, bash infra/local/backends.sh
  up kafka), topics and consumer groups prefixed with the run's project name, left on the broker
  afterwards like the project. Everything else stays on the emulators.
  Exit 2, with one line saying what to do, when the emulators are not configured or not up.`;

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
  const witnessed = (c: DemoReport['chains'][number]) =>
    c.witnessed === undefined
      ? ''
      : c.witnessed === null
        ? ', no witnessed checkpoint'
        : `, witnessed checkpoint ${c.witnessed}`;
  const chains = report.chains.map(
    (c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.chain} (${c.count} receipts${witnessed(c)}) -> ${c.export_path}`,
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
  const { values } = parse(
    argv,
    { 'data-dir': { type: 'string' }, json: { type: 'boolean' }, ...backendOption, ...signalsOption },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(demoHelp + '\n');
    return 0;
  }
  const backend = parseBackend(values.backend);
  const signals = parseSignals(values.signals, backend);
  // Made only once the stores open: a configuration error leaves no empty folder behind.
  const makeDataDir = () =>
    typeof values['data-dir'] === 'string'
      ? ensureDir(values['data-dir'])
      : mkdtempSync(join(tmpdir(), 'governor-demo-'));
  const say = (line: string) => process.stderr.write(`demo: ${line}\n`);
  const stores = await (backend === 'gcp'
    ? openGcpDemo(makeDataDir, say, signals)
    : openLocalDemo(makeDataDir, say));
  const { dataDir } = stores;
  const started = Date.now();
  try {
    const ledger = new FaultLedger(stores.ledger);
    const { runtime, archives } = await runScenario(
      {
        workerId: DEMO_WORKER,
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
        ...(stores.witness ? { witness: stores.witness } : {}),
      },
      say,
    );
    const chains = [...new Set([...runtime.chains(), 'tenants/umbrella'])];
    say(
      `verifying every chain and archive${stores.witness ? ' as read back from Firestore and Cloud Storage' : ''}`,
    );
    const report = await verifyAll(
      stores.ledger,
      stores.archive,
      chains,
      archives,
      stores.keyring,
      join(dataDir, 'exports'),
      ...(stores.witness ? [stores.witness] : []),
    ).catch((e: unknown) => {
      throw stores.failure('verifying what the demo wrote', e);
    });
    say(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const line of stores.afterwards) say(line);
    if (values.json)
      process.stdout.write(JSON.stringify({ data_dir: dataDir, ...stores.about, ...report }, null, 2) + '\n');
    else process.stdout.write(table(report));
    return report.ok ? EXIT.VALID : EXIT.INVALID;
  } catch (e) {
    throw stores.failure('the demo failed', e);
  } finally {
    await stores.close();
  }
}
