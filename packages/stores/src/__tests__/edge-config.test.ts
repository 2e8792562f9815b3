import { join, resolve } from 'node:path';
import { ConfigError, edgeConfigFromEnv, loadPublicKeys } from '..';

const config = { dataDir: '/var/governor' };

describe('edgeConfigFromEnv', () => {
  it('defaults: 0.0.0.0:8080, a 10 s answer timeout, the public keys in the data dir', () => {
    expect(edgeConfigFromEnv({}, config)).toEqual({
      host: '0.0.0.0',
      port: 8080,
      answerTimeoutMs: 10_000,
      keysFile: join('/var/governor', 'keys', 'keys.json'),
    });
  });

  it('the public keys: GOVERNOR_KEYS_FILE, else keys.json beside the signing key', () => {
    const signed = { ...config, signingKeyFile: '/secrets/signing-key.pem' };
    expect(edgeConfigFromEnv({}, signed).keysFile).toBe('/secrets/keys.json');
    expect(edgeConfigFromEnv({ GOVERNOR_KEYS_FILE: 'keys/k.json' }, signed).keysFile).toBe(
      resolve('keys/k.json'),
    );
  });

  it('PORT, HOST and GOVERNOR_ANSWER_TIMEOUT_MS', () => {
    expect(
      edgeConfigFromEnv({ PORT: '9000', HOST: '127.0.0.1', GOVERNOR_ANSWER_TIMEOUT_MS: '250' }, config),
    ).toMatchObject({ host: '127.0.0.1', port: 9000, answerTimeoutMs: 250 });
  });

  it.each(['99', '600001', '1.5', 'soon'])('GOVERNOR_ANSWER_TIMEOUT_MS=%p is a ConfigError', (value) => {
    expect(() => edgeConfigFromEnv({ GOVERNOR_ANSWER_TIMEOUT_MS: value }, config)).toThrow(
      new ConfigError('GOVERNOR_ANSWER_TIMEOUT_MS must be whole milliseconds, 100 to 600000'),
    );
  });
});

describe('loadPublicKeys', () => {
  it('an unreadable keys file is a ConfigError that says what to set', async () => {
    await expect(loadPublicKeys('/nonexistent/keys.json')).rejects.toThrow(
      new ConfigError('cannot read the public keys /nonexistent/keys.json: set GOVERNOR_KEYS_FILE'),
    );
  });
});
