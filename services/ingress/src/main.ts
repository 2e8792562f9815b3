#!/usr/bin/env node
import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KEYS_FILE } from '@governor/adapters-local';
import { Keyring } from '@governor/receipts';
import { ConfigError, ENVIRONMENT_HELP, openStores, workerConfigFromEnv } from '@governor/worker';
import pino from 'pino';
import { buildIngress } from './app';
import { parseTokens } from './auth';
import { ControlGateway } from './control-gateway';
import { EDGE_LIMITS_HELP, edgeLimitsFromEnv, type EdgeLimits } from './edge-limits';
import { loadEdgeSecrets } from './edge-secrets';
import { IngressMetrics } from './metrics';
import { parseSecrets } from './webhook-signature';

const HELP = `governor-ingress: the HTTP edge on its own (Cloud Run), in front of governor-worker instances.

Verifies marketplace webhooks and GitOps policy pushes, forwards them to the workers over
governor.control and answers once a worker's receipt is in Firestore; publishes operator signals
onto tenant topics; serves tenants, receipts (with proofs), exports and keys from the stores.
Needs GOVERNOR_BACKEND=gcp. \`governor start\` runs ingress and worker in one process instead.

  PORT, HOST                  listen on HOST:PORT (default 0.0.0.0:8080)
  GOVERNOR_WEBHOOK_SECRETS    whsec_<base64> marketplace secrets, space-separated during a rotation
  GOVERNOR_POLICY_SECRETS     whsec_<base64> GitOps secrets
  GOVERNOR_API_TOKENS         role:token,... (roles admin, operator, auditor)
  GOVERNOR_KEYS_FILE          the public keys.json served at /v1/keys and used to verify receipts
                              (default: keys.json beside GOVERNOR_SIGNING_KEY_FILE, else
                              GOVERNOR_DATA_DIR/keys/keys.json)
  GOVERNOR_ANSWER_TIMEOUT_MS  how long to wait for a worker's receipt before a 503 (10000)

Slow clients and the connection cap (a request not in within its timeout is answered 408):
${EDGE_LIMITS_HELP}

${ENVIRONMENT_HELP}`;

async function main(): Promise<number> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const log = pino({ level: process.env.LOG_LEVEL ?? 'info', base: { service: 'ingress' } });
  let config;
  let secrets;
  let keyring: Keyring;
  let answerTimeoutMs: number;
  let limits: EdgeLimits;
  try {
    config = workerConfigFromEnv(process.env);
    if (config.backend !== 'gcp')
      throw new ConfigError(
        'the ingress alone needs GOVERNOR_BACKEND=gcp (on the embedded default use `governor start`)',
      );
    secrets = await loadEdgeSecrets(process.env, config.dataDir, {
      create: config.gcp?.firestoreEmulatorHost !== undefined,
    });
    const keysFile = resolve(
      process.env.GOVERNOR_KEYS_FILE ??
        (config.signingKeyFile
          ? join(dirname(config.signingKeyFile), KEYS_FILE)
          : join(config.dataDir, 'keys', KEYS_FILE)),
    );
    keyring = Keyring.fromJson(
      await fs.readFile(keysFile, 'utf8').catch(() => {
        throw new ConfigError(`cannot read the public keys ${keysFile}: set GOVERNOR_KEYS_FILE`);
      }),
    );
    answerTimeoutMs = Number(process.env.GOVERNOR_ANSWER_TIMEOUT_MS ?? 10_000);
    if (!Number.isInteger(answerTimeoutMs) || answerTimeoutMs < 100 || answerTimeoutMs > 600_000)
      throw new ConfigError('GOVERNOR_ANSWER_TIMEOUT_MS must be whole milliseconds, 100 to 600000');
    limits = edgeLimitsFromEnv(process.env, { longestAnswerMs: answerTimeoutMs });
  } catch (e) {
    // ConfigError, SecretsError, an unreadable keys file or bad token list: one line, exit 2.
    process.stderr.write(`governor-ingress: ${(e as Error).message}\n`);
    return 2;
  }
  const stopSignal = new Promise<string>((done) => {
    process.on('SIGTERM', () => done('SIGTERM'));
    process.on('SIGINT', () => done('SIGINT'));
  });
  const stores = await openStores(config);
  const gateway = new ControlGateway(stores, { answerTimeoutMs });
  const app = buildIngress({
    gateway,
    ledger: stores.ledger,
    latestCheckpoint: async (chain) =>
      (await stores.witness?.latest(chain)) ?? stores.ledger.latestCheckpoint(chain),
    archive: stores.archive,
    keys: () => keyring.entries(),
    webhookSecrets: parseSecrets(secrets.webhookSecrets, 'GOVERNOR_WEBHOOK_SECRETS'),
    policySecrets: parseSecrets(secrets.policySecrets, 'GOVERNOR_POLICY_SECRETS'),
    tokens: parseTokens(secrets.apiTokens),
    logger: log,
    metrics: new IngressMetrics({ processMetrics: true }),
    limits,
  });
  const port = Number(process.env.PORT ?? 8080);
  const url = await app.listen({ host: process.env.HOST ?? '0.0.0.0', port });
  log.info({ url, limits }, 'ingress ready');
  log.info({ signal: await stopSignal }, 'stopping');
  gateway.draining = true;
  await app.close();
  await stores.close();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`governor-ingress: ${(e as Error).message ?? String(e)}\n`);
    process.exit(1);
  },
);
