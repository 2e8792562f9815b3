import { ConfigError, gcpConfigFromEnv } from '..';

const emulators = {
  PUBSUB_EMULATOR_HOST: '127.0.0.1:8085',
  FIRESTORE_EMULATOR_HOST: '127.0.0.1:8086',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:4443',
};

describe('gcpConfigFromEnv', () => {
  it('on the emulators, project and bucket default to governor-local', () => {
    expect(gcpConfigFromEnv(emulators, { workerId: 'worker-1' })).toEqual({
      projectId: 'governor-local',
      bucket: 'governor-local',
      workerId: 'worker-1',
      pubsubEmulatorHost: '127.0.0.1:8085',
      firestoreEmulatorHost: '127.0.0.1:8086',
      storageEmulatorHost: 'http://127.0.0.1:4443',
    });
  });

  it('against Google Cloud, project and bucket must be given; GOOGLE_CLOUD_PROJECT is honoured', () => {
    expect(() => gcpConfigFromEnv({}, { workerId: 'worker-1' })).toThrow(/GOVERNOR_PROJECT is not set/);
    expect(() => gcpConfigFromEnv({ GOOGLE_CLOUD_PROJECT: 'p' }, { workerId: 'worker-1' })).toThrow(
      /GOVERNOR_BUCKET is not set/,
    );
    expect(
      gcpConfigFromEnv(
        { GOOGLE_CLOUD_PROJECT: 'p', GOVERNOR_BUCKET: 'gov-archive', GOVERNOR_WORKER_ID: 'run-7' },
        { workerId: 'worker-1' },
      ),
    ).toEqual({ projectId: 'p', bucket: 'gov-archive', workerId: 'run-7' });
  });

  it('names the variable that is malformed', () => {
    for (const [name, value] of [
      ['PUBSUB_EMULATOR_HOST', 'localhost'],
      ['STORAGE_EMULATOR_HOST', 'not a url'],
      ['GOVERNOR_WORKER_ID', 'Worker_1'],
      ['GOVERNOR_BUCKET', 'UPPER'],
    ] as const) {
      const error = (() => {
        try {
          gcpConfigFromEnv({ ...emulators, [name]: value }, { workerId: 'worker-1' });
        } catch (e) {
          return e;
        }
        return null;
      })();
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toContain(name);
    }
  });
});
