import pino from 'pino';
import { parse, positiveInt } from '../args';
import { dataDirOf } from '../backend';
import { ConfigError } from '@governor/stores';
import { CliError } from '../errors';
import { ensureDir } from '../io';
import { readableLog } from '../log-format';
import { outputOf } from '../output';
import { selfCommand, startHints } from '../start-hints';
import { startGovernor } from '../start-governor';

const USAGE = 'governor start [--port N] [--host H] [--data-dir DIR] [--backend local|gcp] [--json]';

export const startHelp = `${USAGE}
  Runs the governor as a service until Ctrl-C or SIGTERM: the worker (every tenant's governor)
  and the HTTP ingress in one process — signed marketplace webhooks, GitOps policy pushes, the
  operator and auditor API, /healthz, /readyz, /metrics.
  --port N        listen port (default PORT, else 8080)
  --host H        listen address (default 127.0.0.1)
  --data-dir DIR  state of the embedded default, the development key and dev-secrets.json
                  (default GOVERNOR_DATA_DIR, else .governor)
  --backend gcp   Firestore, Pub/Sub and Cloud Storage instead (configured like governor-worker:
                  governor-worker --help lists the variables)
  --json          print one JSON line when ready ({url, data_dir, backend, secrets_file, next})
                  instead of the summary, and keep the logs JSON lines on a terminal too
  Logs go to stderr: readable lines on a terminal, JSON lines (pino) otherwise; LOG_LEVEL sets
  the level (default info).
  Secrets: GOVERNOR_WEBHOOK_SECRETS and GOVERNOR_POLICY_SECRETS (whsec_<base64>, several during a
  rotation), GOVERNOR_API_TOKENS (role:token,... with roles admin, operator, auditor),
  GOVERNOR_SIGNING_KEY_FILE. Whatever is unset comes from DIR/dev-secrets.json, created (0600)
  on first run on the embedded default or the emulators.
  On stop: new signals are refused, running actions finish, receipts are flushed; exit 0.`;

export async function startCommand(argv: string[]): Promise<number> {
  const { values } = parse(
    argv,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      backend: { type: 'string' },
      json: { type: 'boolean' },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(startHelp + '\n');
    return 0;
  }
  const env = process.env;
  const backend = (values.backend as string | undefined) ?? env.GOVERNOR_BACKEND ?? 'local';
  if (backend !== 'local' && backend !== 'gcp')
    throw new CliError(`--backend must be local or gcp, got "${backend}"`);
  const portText = (values.port as string | undefined) ?? env.PORT ?? '8080';
  const port = portText === '0' ? 0 : positiveInt(portText, '--port');
  if (port > 65535) throw new CliError(`--port must be at most 65535, got ${port}`);
  const host = (values.host as string | undefined) ?? '127.0.0.1';
  // Made (or refused in one line) here: fs.mkdir on an impossible path such as /proc/x never settles.
  const dataDir = ensureDir(dataDirOf(values['data-dir']));

  const { SecretsError } = await import('@governor/ingress');
  const { alertOnUnhandledRejections, logAlerts } = await import('@governor/worker');
  const out = outputOf(values.json);
  const log = pino(
    { level: env.LOG_LEVEL ?? 'info' },
    process.stderr.isTTY === true && !out.json
      ? readableLog(process.stderr, outputOf(false, process.stderr).color)
      : pino.destination(2),
  );
  alertOnUnhandledRejections(logAlerts(log));
  // Installed before start-up, so a signal during start-up still stops cleanly.
  const stopSignal = new Promise<string>((done) => {
    process.on('SIGTERM', () => done('SIGTERM'));
    process.on('SIGINT', () => done('SIGINT'));
  });
  let started;
  try {
    started = await startGovernor({ backend, host, port, dataDir, env, log });
  } catch (e) {
    if (e instanceof ConfigError || e instanceof SecretsError) throw new CliError(e.message);
    if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CliError(`port ${port} on ${host} is in use: pass --port N (or PORT) for another one`);
    throw e;
  }
  // Listening already (/readyz says starting); the tenants are resumed and reconciled first.
  try {
    await started.ready;
  } catch (e) {
    await started.close().catch(() => undefined);
    throw e;
  }
  const next = startHints(selfCommand(), started.url, dataDir);
  const secretsFile = started.secrets.devFile ?? null;
  if (out.json)
    process.stdout.write(
      JSON.stringify({ url: started.url, data_dir: dataDir, backend, secrets_file: secretsFile, next }) +
        '\n',
    );
  else {
    const where =
      backend === 'local'
        ? `the embedded default (data in ${dataDir})`
        : 'Google Cloud (Firestore, Pub/Sub, Cloud Storage)';
    process.stdout.write(
      [
        `governor: running on ${where}`,
        `  url       ${started.url}   (health: ${started.url}/readyz, metrics: ${started.url}/metrics)`,
        secretsFile
          ? `  secrets   ${secretsFile} (webhook and policy secrets, admin token; 0600)`
          : '  secrets   from GOVERNOR_WEBHOOK_SECRETS, GOVERNOR_POLICY_SECRETS, GOVERNOR_API_TOKENS',
        `  keys      ${started.url}/v1/keys`,
        'next, in another terminal:',
        ...next.map((command) => `  ${command}`),
        'Ctrl-C stops it (running actions finish, receipts are flushed).',
        '',
      ].join('\n'),
    );
  }
  log.info({ signal: await stopSignal }, 'stopping');
  if (!out.json)
    process.stdout.write(
      'governor: stopping: refusing new signals, letting actions finish, flushing receipts\n',
    );
  await started.close();
  if (!out.json) process.stdout.write('governor: stopped\n');
  return 0;
}
