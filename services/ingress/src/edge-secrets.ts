import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { parseTokens, type Role } from './auth';
import { parseSecrets } from './webhook-signature';

export const DEV_SECRETS_FILE = 'dev-secrets.json';

/** What the edge verifies and authorises with, as configured (raw strings, for senders too). */
export interface EdgeSecrets {
  readonly webhookSecrets: readonly string[];
  readonly policySecrets: readonly string[];
  /** `role:token` pairs, as GOVERNOR_API_TOKENS holds them. */
  readonly apiTokens: string;
  /** Where the values not taken from the environment came from. */
  readonly devFile: string | null;
}

interface DevSecretsFile {
  readonly webhook_secrets: string[];
  readonly policy_secrets: string[];
  readonly api_tokens: string;
}

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

const split = (v: string) => v.split(/[\s,]+/).filter((s) => s !== '');
const whsec = () => `whsec_${randomBytes(24).toString('base64')}`;

/**
 * The edge secrets: GOVERNOR_WEBHOOK_SECRETS, GOVERNOR_POLICY_SECRETS (whsec_<base64>,
 * space- or comma-separated, several during a rotation) and GOVERNOR_API_TOKENS (role:token,
 * comma-separated). What the environment does not set comes from `{dataDir}/dev-secrets.json`,
 * created on first use (0600) when `create` allows it — never against real Google Cloud.
 */
export async function loadEdgeSecrets(
  env: NodeJS.ProcessEnv,
  dataDir: string,
  options: { create: boolean },
): Promise<EdgeSecrets> {
  const fromEnv = {
    webhook: env.GOVERNOR_WEBHOOK_SECRETS ? split(env.GOVERNOR_WEBHOOK_SECRETS) : null,
    policy: env.GOVERNOR_POLICY_SECRETS ? split(env.GOVERNOR_POLICY_SECRETS) : null,
    tokens: env.GOVERNOR_API_TOKENS?.trim() ? env.GOVERNOR_API_TOKENS.trim() : null,
  };
  let devFile: string | null = null;
  let dev: DevSecretsFile | null = null;
  if (fromEnv.webhook === null || fromEnv.policy === null || fromEnv.tokens === null) {
    devFile = join(dataDir, DEV_SECRETS_FILE);
    dev = await readOrCreate(devFile, options.create);
  }
  const secrets: EdgeSecrets = {
    webhookSecrets: fromEnv.webhook ?? dev?.webhook_secrets ?? [],
    policySecrets: fromEnv.policy ?? dev?.policy_secrets ?? [],
    apiTokens: fromEnv.tokens ?? dev?.api_tokens ?? '',
    devFile,
  };
  // Checked here, so a bad value stops start-up with its variable's name.
  parseSecrets(secrets.webhookSecrets, 'GOVERNOR_WEBHOOK_SECRETS');
  parseSecrets(secrets.policySecrets, 'GOVERNOR_POLICY_SECRETS');
  parseTokens(secrets.apiTokens);
  return secrets;
}

async function readOrCreate(file: string, create: boolean): Promise<DevSecretsFile> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as DevSecretsFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new SecretsError(`cannot read ${file}: ${(e as Error).message}`);
  }
  if (!create)
    throw new SecretsError(
      'set GOVERNOR_WEBHOOK_SECRETS, GOVERNOR_POLICY_SECRETS and GOVERNOR_API_TOKENS (development secrets are only made on the embedded default and the emulators)',
    );
  const dev: DevSecretsFile = {
    webhook_secrets: [whsec()],
    policy_secrets: [whsec()],
    api_tokens: `admin:gov_${randomBytes(24).toString('base64url')}`,
  };
  await fs.mkdir(join(file, '..'), { recursive: true, mode: 0o700 });
  try {
    await fs.writeFile(file, JSON.stringify(dev, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  } catch (e) {
    // Another process made it first: use theirs.
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      return JSON.parse(await fs.readFile(file, 'utf8')) as DevSecretsFile;
    throw e;
  }
  return dev;
}

/** The first token holding `role` (admin counts for every role), for senders like the CLI. */
export function tokenFor(secrets: EdgeSecrets, role: Role): string | null {
  for (const pair of secrets.apiTokens.split(',')) {
    const at = pair.indexOf(':');
    const r = pair.slice(0, at).trim();
    if (r === role || r === 'admin') return pair.slice(at + 1).trim();
  }
  return null;
}
