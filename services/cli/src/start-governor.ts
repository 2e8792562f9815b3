import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { URL_FILE } from '@governor/adapters-local';
import type { buildIngress, EdgeSecrets, RuntimeGateway } from '@governor/ingress';
import { governorConfigFromEnv } from '@governor/stores';
import type { Worker } from '@governor/worker';
import type { Logger } from 'pino';

export interface StartOptions {
  readonly backend: 'local' | 'gcp';
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
}

export interface Started {
  readonly url: string;
  readonly worker: Worker;
  readonly app: ReturnType<typeof buildIngress>;
  readonly secrets: EdgeSecrets;
  readonly gateway: RuntimeGateway;
  /**
   * Resolves once the worker has taken its tenants over (resumed, reconciled, subscribed);
   * until then the listener is open, `/readyz` says starting, and requests that need a tenant
   * not served yet get 503. Rejects if the take-over fails (the caller stops the process).
   */
  readonly ready: Promise<void>;
  /** Graceful stop: refuse new signals, close the listener, drain and flush the worker. */
  close(): Promise<void>;
}

/** `governor start`: the worker and the HTTP ingress in one process, the ingress calling the runtime. */
export async function startGovernor(options: StartOptions): Promise<Started> {
  // The worker and the ingress load only now: `governor --help` and `--version` stay quick.
  const [{ Worker }, ingress] = await Promise.all([import('@governor/worker'), import('@governor/ingress')]);
  const { buildIngress, edgeLimitsFromEnv, IngressMetrics, loadEdgeSecrets, parseSecrets, parseTokens } =
    ingress;
  const config = governorConfigFromEnv({
    ...options.env,
    GOVERNOR_BACKEND: options.backend,
    GOVERNOR_DATA_DIR: options.dataDir,
  });
  // Bad values stop the start here, before anything is opened (one line, exit 2).
  const limits = edgeLimitsFromEnv(options.env);
  // Development secrets only where nothing real is at stake: the embedded default and emulators.
  const secrets = await loadEdgeSecrets(options.env, config.dataDir, {
    create: config.gcp === undefined || config.gcp.firestoreEmulatorHost !== undefined,
  });
  // Open, not started: the listener opens before the tenants are taken over, so that a restart
  // with actions to reconcile answers /readyz (not ready) rather than refusing connections.
  const worker = await Worker.open(config, options.log);
  const { ledger, witness, directory, archive } = worker.stores;
  const gateway = new ingress.RuntimeGateway(worker.runtime, directory, ledger, {
    ...(worker.ownership ? { claims: worker.ownership } : {}),
  });
  gateway.starting = true;
  const app = buildIngress({
    gateway,
    ledger,
    latestCheckpoint: async (chain) => (await witness?.latest(chain)) ?? ledger.latestCheckpoint(chain),
    archive,
    keys: () => worker.keyring.entries(),
    webhookSecrets: parseSecrets(secrets.webhookSecrets, 'GOVERNOR_WEBHOOK_SECRETS'),
    policySecrets: parseSecrets(secrets.policySecrets, 'GOVERNOR_POLICY_SECRETS'),
    tokens: parseTokens(secrets.apiTokens),
    logger: options.log,
    metrics: new IngressMetrics({ processMetrics: true }),
    limits,
  });
  try {
    await app.listen({ host: options.host, port: options.port });
  } catch (e) {
    await worker.stop();
    throw e;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`;
  // Beside the data dir's lock: a second start on this dir names where this one listens.
  await fs.writeFile(join(config.dataDir, URL_FILE), `${url}\n`).catch(() => undefined);
  options.log.info({ url }, 'listening; taking the tenants over');
  const ready = worker.takeOver().then(() => {
    gateway.starting = false;
  });
  ready.catch(() => undefined);
  let closing: Promise<void> | null = null;
  return {
    url,
    worker,
    app,
    secrets,
    gateway,
    ready,
    close: () =>
      (closing ??= (async () => {
        gateway.draining = true;
        await app.close();
        await worker.stop();
      })()),
  };
}
