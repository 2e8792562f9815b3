import type { GovernorConfig } from './config';
import { ConfigError } from './env';
import { publicKeysFile } from './keys';

/** What the ingress alone reads on top of the governor's configuration. */
export interface EdgeConfig {
  readonly host: string;
  readonly port: number;
  /** How long to wait for a worker's receipt before a 503. */
  readonly answerTimeoutMs: number;
  /** The public keys.json served at /v1/keys and used to verify receipts. */
  readonly keysFile: string;
}

/** PORT, HOST, GOVERNOR_ANSWER_TIMEOUT_MS and GOVERNOR_KEYS_FILE (see `governor-ingress --help`). */
export function edgeConfigFromEnv(
  env: NodeJS.ProcessEnv,
  config: Pick<GovernorConfig, 'dataDir' | 'signingKeyFile'>,
): EdgeConfig {
  const answerTimeoutMs = Number(env.GOVERNOR_ANSWER_TIMEOUT_MS ?? 10_000);
  if (!Number.isInteger(answerTimeoutMs) || answerTimeoutMs < 100 || answerTimeoutMs > 600_000)
    throw new ConfigError('GOVERNOR_ANSWER_TIMEOUT_MS must be whole milliseconds, 100 to 600000');
  return {
    host: env.HOST ?? '0.0.0.0',
    port: Number(env.PORT ?? 8080),
    answerTimeoutMs,
    keysFile: publicKeysFile(env, config),
  };
}
