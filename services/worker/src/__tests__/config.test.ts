import { ConfigError, workerConfigFromEnv } from '../config';

const emulators = {
  GOVERNOR_BACKEND: 'gcp',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443',
};

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    workerConfigFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('workerConfigFromEnv', () => {
  it('defaults to the embedded default in .governor, with the documented timings', () => {
    const config = workerConfigFromEnv({});
    expect(config).toMatchObject({
      backend: 'local',
      workerId: 'local-worker',
      healthIntervalMs: 1_000,
      healthThreshold: 3,
      drainTimeoutMs: 30_000,
      redeliveryMs: 1_000,
    });
    expect(config.dataDir).toMatch(/\.governor$/);
    expect(config.gcp).toBeUndefined();
  });

  it('on the emulators needs nothing else; the worker id and timings reach the adapters', () => {
    const config = workerConfigFromEnv({
      ...emulators,
      GOVERNOR_WORKER_ID: 'worker-7',
      GOVERNOR_STORE_DEADLINE_MS: '800',
      GOVERNOR_REDELIVERY_MS: '250',
    });
    expect(config.workerId).toBe('worker-7');
    expect(config.gcp).toMatchObject({
      projectId: 'governor-local',
      bucket: 'governor-local',
      workerId: 'worker-7',
      deadlineMs: 800,
      redeliveryDelayMs: 250,
      firestoreEmulatorHost: '127.0.0.1:8086',
    });
  });

  it('against Google Cloud a signing key file is required: receipts are not signed by a throwaway key', () => {
    expect(errorOf({ GOVERNOR_BACKEND: 'gcp', GOVERNOR_PROJECT: 'p', GOVERNOR_BUCKET: 'gov-b' })).toMatch(
      /GOVERNOR_SIGNING_KEY_FILE is not set/,
    );
    expect(
      workerConfigFromEnv({
        GOVERNOR_BACKEND: 'gcp',
        GOVERNOR_PROJECT: 'p',
        GOVERNOR_BUCKET: 'gov-b',
        GOVERNOR_SIGNING_KEY_FILE: '/secrets/key.pem',
      }).signingKeyFile,
    ).toBe('/secrets/key.pem');
  });

  it('names the variable that is wrong', () => {
    expect(errorOf({ GOVERNOR_BACKEND: 'aws' })).toContain('GOVERNOR_BACKEND');
    expect(errorOf({ GOVERNOR_HEALTH_THRESHOLD: '0' })).toContain('GOVERNOR_HEALTH_THRESHOLD');
    expect(errorOf({ GOVERNOR_ACTION_SECRET: 'hunter2' })).toContain('GOVERNOR_ACTION_SECRET');
    expect(errorOf({ GOVERNOR_WORKER_ID: 'Bad_Id' })).toContain('GOVERNOR_WORKER_ID');
    expect(errorOf({ ...emulators, PUBSUB_EMULATOR_HOST: 'nohost' })).toContain('PUBSUB_EMULATOR_HOST');
  });
});
