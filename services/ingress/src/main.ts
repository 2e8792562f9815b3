#!/usr/bin/env node
import type { Keyring } from '@governor/receipts';
import {
  ConfigError,
  edgeConfigFromEnv,
  ENVIRONMENT_HELP,
  governorConfigFromEnv,
  loadPublicKeys,
  openStores,
  type EdgeConfig,
} from '@governor/stores';
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
  const env = process.env;
  let config;
  let edge: EdgeConfig;
  let secrets;
  let keyring: Keyring;
  let limits: EdgeLimits;
  try {
    config = governorConfigFromEnv(env);
    if (config.backend !== 'gcp')
      throw new ConfigError(
        'the ingress alone needs GOVERNOR_BACKEND=gcp (on the embedded default use `governor start`)',
      );
    secrets = await loadEdgeSecrets(env, config.dataDir, {
      create: config.gcp?.firestoreEmulatorHost !== undefined,
    });
    edge = edgeConfigFromEnv(env, config);
    keyring = await loadPublicKeys(edge.keysFile);
    limits = edgeLimitsFromEnv(env, { longestAnswerMs: edge.answerTimeoutMs });
  } catch (e) {
    // ConfigError, SecretsError, an unreadable keys file or bad token list: one line, exit 2.
    process.stderr.write(`governor-ingress: ${(e as Error).message}\n`);
    return 2;
  }
  const log = pino({ level: config.logLevel, base: { service: 'ingress' } });
  const stopSignal = new Promise<string>((done) => {
    process.on('SIGTERM', () => done('SIGTERM'));
    process.on('SIGINT', () => done('SIGINT'));
  });
  const stores = await openStores(config);
  const gateway = new ControlGateway(stores, { answerTimeoutMs: edge.answerTimeoutMs });
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
  const url = await app.listen({ host: edge.host, port: edge.port });
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
