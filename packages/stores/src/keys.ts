import { promises as fs } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { KEYS_FILE, loadSigningKey } from '@governor/adapters-local';
import { Keyring, type SigningKey } from '@governor/receipts';
import type { GovernorConfig } from './config';
import { ConfigError } from './env';

/**
 * The signing key `config` names (GOVERNOR_SIGNING_KEY_FILE) with the public keyring beside it,
 * or else a development key in the data dir, created on first use.
 */
export function loadSigner(
  config: Pick<GovernorConfig, 'dataDir' | 'signingKeyFile'>,
): Promise<{ signer: SigningKey; keyring: Keyring }> {
  return loadSigningKey(config.dataDir, config.signingKeyFile);
}

/**
 * The public keys.json receipts verify with, where nothing signs: GOVERNOR_KEYS_FILE, else
 * keys.json beside GOVERNOR_SIGNING_KEY_FILE, else in the data dir's development keys.
 */
export function publicKeysFile(
  env: NodeJS.ProcessEnv,
  config: Pick<GovernorConfig, 'dataDir' | 'signingKeyFile'>,
): string {
  return resolve(
    env.GOVERNOR_KEYS_FILE ??
      (config.signingKeyFile
        ? join(dirname(config.signingKeyFile), KEYS_FILE)
        : join(config.dataDir, 'keys', KEYS_FILE)),
  );
}

/** The public keyring in `file`; an unreadable file is a configuration error. */
export async function loadPublicKeys(file: string): Promise<Keyring> {
  const json = await fs.readFile(file, 'utf8').catch(() => {
    throw new ConfigError(`cannot read the public keys ${file}: set GOVERNOR_KEYS_FILE`);
  });
  return Keyring.fromJson(json);
}
