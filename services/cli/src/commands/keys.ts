import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { KEY_FILE, KEYS_FILE } from '@governor/adapters-local';
import { Keyring, SigningKey } from '@governor/receipts';
import { parse, required } from '../args';
import { CliError } from '../errors';
import { readText } from '../io';

const USAGE = 'governor keys generate --out DIR';

export const keysHelp = `${USAGE}
  Writes DIR/${KEY_FILE} (the private Ed25519 key, PKCS#8 PEM, mode 0600) and DIR/${KEYS_FILE}
  (the public keyring auditors verify with). Refuses to overwrite an existing key.`;

export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'generate') throw new CliError(`unknown keys command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values } = parse(rest, { out: { type: 'string' } }, USAGE);
  if (values.help) {
    process.stdout.write(keysHelp + '\n');
    return 0;
  }
  const dir = required(values.out, '--out DIR', USAGE);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const key = SigningKey.generate();
  try {
    await fs.writeFile(join(dir, KEY_FILE), key.toPem(), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new CliError(`${join(dir, KEY_FILE)} already exists; refusing to overwrite a signing key`);
    throw new CliError(`cannot write ${join(dir, KEY_FILE)}: ${(e as Error).message}`);
  }
  const keyring = new Keyring([key.publicEntry(new Date().toISOString())]);
  await fs.writeFile(join(dir, KEYS_FILE), keyring.toJson());
  process.stdout.write(
    `key ${key.keyId} written to ${join(dir, KEY_FILE)} (0600); public keys in ${join(dir, KEYS_FILE)}\n`,
  );
  return 0;
}

/** Loads DIR/signing-key.pem and DIR/keys.json written by `keys generate`. */
export async function loadKeyDir(dir: string): Promise<{ key: SigningKey; keyring: Keyring }> {
  const key = SigningKey.parse(await readText(join(dir, KEY_FILE), 'signing key'));
  const keyring = Keyring.fromJson(await readText(join(dir, KEYS_FILE), 'keys file'));
  if (!keyring.get(key.keyId))
    throw new CliError(
      `${join(dir, KEYS_FILE)} does not list the key in ${join(dir, KEY_FILE)} (${key.keyId})`,
    );
  return { key, keyring };
}

export async function loadKeyring(path: string): Promise<Keyring> {
  return Keyring.fromJson(await readText(path, 'keys file'));
}
