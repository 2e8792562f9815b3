import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { KEY_FILE, KEYS_FILE } from '@governor/adapters-local';
import { Keyring, SigningKey } from '@governor/receipts';
import { parse, required, type Value } from '../args';
import { CliError } from '../errors';
import { ensureDir, readText } from '../io';

const USAGE = 'governor keys generate --out DIR';

export const keysHelp = `${USAGE}
  Writes DIR/${KEY_FILE} (the private Ed25519 key, PKCS#8 PEM, mode 0600) and DIR/${KEYS_FILE}
  (the public keyring auditors verify with). Refuses to overwrite an existing key.`;

export async function keysCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined) {
    process.stdout.write(keysHelp + '\n');
    return 2;
  }
  if (sub !== 'generate') throw new CliError(`unknown keys command "${sub ?? ''}"\nusage: ${USAGE}`);
  const { values } = parse(rest, { out: { type: 'string' } }, USAGE);
  if (values.help) {
    process.stdout.write(keysHelp + '\n');
    return 0;
  }
  const dir = required(values.out, '--out DIR', USAGE);
  ensureDir(dir, 0o700);
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

/** Where the public keys come from, for every verify command: `--keys`, or an archive's own. */
export type TrustedKeys = { readonly keys: string } | { readonly trustArchiveKeys: true };

/**
 * The one rule of the verify commands (verify-chain, verify-archive, verify-receipt): the keys a
 * verdict rests on are named by the caller. `--keys keys.json` always; an archive may instead be
 * checked against the keys it carries with `--trust-archive-keys` (integrity only: anyone can
 * sign an archive with a key of their own). Neither, or both, is a usage error (exit 2) saying
 * what to pass, before anything is read.
 */
export function trustedKeys(values: Record<string, Value>, archive: false, usage: string): { keys: string };
export function trustedKeys(values: Record<string, Value>, archive: boolean, usage: string): TrustedKeys;
export function trustedKeys(values: Record<string, Value>, archive: boolean, usage: string): TrustedKeys {
  const keys = values.keys;
  const trust = values['trust-archive-keys'] === true;
  if (keys !== undefined && trust)
    throw new CliError(`give --keys or --trust-archive-keys, not both\nusage: ${usage}`);
  if (trust) {
    if (!archive)
      throw new CliError(`--trust-archive-keys is for archives; this input needs --keys keys.json`);
    return { trustArchiveKeys: true };
  }
  if (typeof keys === 'string' && keys !== '') return { keys };
  throw new CliError(
    `missing --keys keys.json (the public keys you trust: governor keys generate writes one, GET /v1/keys serves one)${
      archive ? ", or --trust-archive-keys to accept the archive's own (integrity only)" : ''
    }\nusage: ${usage}`,
  );
}
