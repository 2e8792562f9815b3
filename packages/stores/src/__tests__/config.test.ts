import { ConfigError, ENVIRONMENT_HELP, envWithFlags, governorConfigFromEnv } from '..';

const emulators = {
  GOVERNOR_BACKEND: 'gcp',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443',
};

function errorOf(env: NodeJS.ProcessEnv): string {
  try {
    governorConfigFromEnv(env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('expected a configuration error');
}

describe('governorConfigFromEnv', () => {
  it('defaults to the embedded default in .governor, with the documented timings', () => {
    const config = governorConfigFromEnv({});
    expect(config).toMatchObject({
      backend: 'local',
      workerId: 'local-worker',
      healthIntervalMs: 1_000,
      healthThreshold: 3,
      drainTimeoutMs: 30_000,
      redeliveryMs: 1_000,
      commitIntervalMs: 0,
    });
    expect(config.dataDir).toMatch(/\.governor$/);
    expect(config.gcp).toBeUndefined();
    expect(config.signals).toBe('in-process');
    expect(config.kafka).toBeUndefined();
  });

  it('paces commits per chain when GOVERNOR_COMMIT_INTERVAL_MS says so, and refuses a negative interval', () => {
    expect(governorConfigFromEnv({ GOVERNOR_COMMIT_INTERVAL_MS: '250' }).commitIntervalMs).toBe(250);
    expect(errorOf({ GOVERNOR_COMMIT_INTERVAL_MS: '-1' })).toMatch(/GOVERNOR_COMMIT_INTERVAL_MS/);
  });

  it('on the emulators needs nothing else; the worker id and timings reach the adapters', () => {
    const config = governorConfigFromEnv({
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
      governorConfigFromEnv({
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

  describe('signals: GOVERNOR_SIGNALS, KAFKA_BROKERS, GOVERNOR_KAFKA_NAMESPACE', () => {
    it('on gcp, signals travel on Pub/Sub unless GOVERNOR_SIGNALS says kafka; KAFKA_BROKERS alone changes nothing', () => {
      expect(governorConfigFromEnv(emulators)).toMatchObject({ signals: 'pubsub' });
      expect(governorConfigFromEnv({ ...emulators, GOVERNOR_SIGNALS: 'pubsub' })).toMatchObject({
        signals: 'pubsub',
      });
      // What `backends.sh env` exports for everyone: ignored while signals are on Pub/Sub.
      const pubsub = governorConfigFromEnv({ ...emulators, KAFKA_BROKERS: 'not a broker list' });
      expect(pubsub.signals).toBe('pubsub');
      expect(pubsub.kafka).toBeUndefined();
    });

    it('kafka defaults to the local broker, without a namespace; the Google Cloud stores stay configured', () => {
      const config = governorConfigFromEnv({ ...emulators, GOVERNOR_SIGNALS: 'kafka' });
      expect(config.signals).toBe('kafka');
      expect(config.kafka).toEqual({ brokers: ['127.0.0.1:9092'] });
      expect(config.gcp).toMatchObject({ projectId: 'governor-local', pubsubEmulatorHost: '127.0.0.1:8085' });
    });

    it('KAFKA_BROKERS is a comma-separated host:port list; GOVERNOR_KAFKA_NAMESPACE prefixes topics and groups', () => {
      const config = governorConfigFromEnv({
        ...emulators,
        GOVERNOR_SIGNALS: 'kafka',
        KAFKA_BROKERS: 'kafka-0.internal:9092, kafka-1.internal:9092,[::1]:19092',
        GOVERNOR_KAFKA_NAMESPACE: 'prod-eu.v1',
      });
      expect(config.kafka).toEqual({
        brokers: ['kafka-0.internal:9092', 'kafka-1.internal:9092', '[::1]:19092'],
        namespace: 'prod-eu.v1',
      });
    });

    it('a bad value names its variable', () => {
      const kafka = { ...emulators, GOVERNOR_SIGNALS: 'kafka' };
      expect(errorOf({ ...emulators, GOVERNOR_SIGNALS: 'rabbitmq' })).toMatch(/^GOVERNOR_SIGNALS: /);
      expect(errorOf({ ...kafka, KAFKA_BROKERS: 'localhost' })).toMatch(
        /^KAFKA_BROKERS: expected host:port\[,host:port...\], got 'localhost'$/,
      );
      expect(errorOf({ ...kafka, KAFKA_BROKERS: '127.0.0.1:9092,' })).toMatch(/^KAFKA_BROKERS: /);
      expect(errorOf({ ...kafka, GOVERNOR_KAFKA_NAMESPACE: '.hidden' })).toMatch(
        /^GOVERNOR_KAFKA_NAMESPACE: /,
      );
      expect(errorOf({ ...kafka, GOVERNOR_KAFKA_NAMESPACE: 'a/b' })).toMatch(/^GOVERNOR_KAFKA_NAMESPACE: /);
    });

    it('on the embedded default GOVERNOR_SIGNALS is an error that says why', () => {
      for (const env of [
        { GOVERNOR_SIGNALS: 'kafka' },
        { GOVERNOR_BACKEND: 'local', GOVERNOR_SIGNALS: 'pubsub' },
      ])
        expect(errorOf(env)).toMatch(
          /^GOVERNOR_SIGNALS=(kafka|pubsub) needs GOVERNOR_BACKEND=gcp: the embedded default \(local\) is one worker whose signals travel on an in-process bus/,
        );
    });

    it('--signals on the command line sets GOVERNOR_SIGNALS, over the environment', () => {
      const env = { ...emulators, GOVERNOR_SIGNALS: 'pubsub' };
      expect(governorConfigFromEnv(envWithFlags(['--signals', 'kafka'], env)).signals).toBe('kafka');
      expect(governorConfigFromEnv(envWithFlags(['--signals=kafka'], env)).signals).toBe('kafka');
      expect(envWithFlags([], env)).toBe(env);
      expect(envWithFlags(['--signals', 'pubsub'], { GOVERNOR_SIGNALS: 'kafka' })).toEqual({
        GOVERNOR_SIGNALS: 'pubsub',
      });
      const flagError = (argv: string[]) => {
        try {
          envWithFlags(argv, {});
        } catch (e) {
          expect(e).toBeInstanceOf(ConfigError);
          return (e as Error).message;
        }
        throw new Error('expected a configuration error');
      };
      expect(flagError(['--signals'])).toBe('--signals needs a value: pubsub or kafka');
      expect(flagError(['--signals', '--help'])).toBe('--signals needs a value: pubsub or kafka');
      expect(flagError(['--signals', 'sqs'])).toBe("--signals must be pubsub or kafka, got 'sqs'");
      // Through the environment the embedded default still refuses it.
      expect(() => governorConfigFromEnv(envWithFlags(['--signals', 'kafka'], {}))).toThrow(ConfigError);
    });

    it('every variable is in the help', () => {
      for (const name of ['GOVERNOR_SIGNALS', 'KAFKA_BROKERS', 'GOVERNOR_KAFKA_NAMESPACE'])
        expect(ENVIRONMENT_HELP).toContain(`  ${name} `);
    });
  });
});
