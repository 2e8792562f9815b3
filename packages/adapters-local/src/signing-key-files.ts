import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Keyring, SigningKey } from '@governor/receipts';

export const KEY_FILE = 'signing-key.pem';
export const KEYS_FILE = 'keys.json';

/**
 * The worker's signing key and the public keyring auditors verify with. A given key file is
 * used as it is (keys.json beside it if present); otherwise a development key is created once
 * in `{dataDir}/keys` (0600) with its keys.json, and reused after.
 */
export async function loadSigningKey(
  dataDir: string,
  keyFile?: string,
): Promise<{ signer: SigningKey; keyring: Keyring }> {
  if (keyFile) {
    const signer = SigningKey.parse(await fs.readFile(keyFile, 'utf8'));
    const keysJson = await fs.readFile(join(keyFile, '..', KEYS_FILE), 'utf8').catch(() => null);
    const keyring = keysJson
      ? Keyring.fromJson(keysJson)
      : new Keyring([signer.publicEntry(new Date().toISOString())]);
    return { signer, keyring };
  }
  const keysDir = join(dataDir, 'keys');
  try {
    return {
      signer: SigningKey.parse(await fs.readFile(join(keysDir, KEY_FILE), 'utf8')),
      keyring: Keyring.fromJson(await fs.readFile(join(keysDir, KEYS_FILE), 'utf8')),
    };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const signer = SigningKey.generate();
  const keyring = new Keyring([signer.publicEntry(new Date().toISOString())]);
  await fs.mkdir(keysDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(join(keysDir, KEY_FILE), signer.toPem(), { mode: 0o600, flag: 'wx' });
  await fs.writeFile(join(keysDir, KEYS_FILE), keyring.toJson());
  return { signer, keyring };
}
