import { createHash, randomBytes } from 'node:crypto';
import { type Bucket, File, type SaveOptions, Storage } from '@google-cloud/storage';
import {
  describeArchiveStoreContract,
  describeCheckpointWitnessContract,
  describePolicyRegistryContract,
} from '@governor/testkit';
import { GcsArchiveStore, GcsPolicyRegistry, GcsCheckpointWitness } from '@governor/adapters-gcp';
import { backends, projectId, uniqueName } from '../support/backends';

// One bucket for the file; each test works under its own prefix, so tests never see each other's
// objects. A second client stands in for another worker reading the same bucket.
const storage = new Storage({ projectId, apiEndpoint: backends.gcs });
const other = new Storage({ projectId, apiEndpoint: backends.gcs });
const bucketName = uniqueName('gcs-adapters');
let bucket: Bucket;

beforeAll(async () => {
  [bucket] = await storage.createBucket(bucketName);
});

afterAll(async () => {
  await bucket.deleteFiles({ force: true });
  await bucket.delete();
});

function freshPrefix(): string {
  return `${uniqueName('run')}/`;
}

async function removeAll(prefix: string): Promise<void> {
  await bucket.deleteFiles({ prefix, force: true });
}

describeArchiveStoreContract('GcsArchiveStore', () => {
  const prefix = freshPrefix();
  return Promise.resolve({
    archive: new GcsArchiveStore({ storage, bucket: bucketName, prefix }),
    reopen: () => Promise.resolve(new GcsArchiveStore({ storage: other, bucket: bucketName, prefix })),
    cleanup: () => removeAll(prefix),
  });
});

describePolicyRegistryContract('GcsPolicyRegistry', () => {
  const prefix = `${freshPrefix()}policies/`;
  return Promise.resolve({
    registry: new GcsPolicyRegistry({ storage, bucket: bucketName, prefix }),
    reopen: () => Promise.resolve(new GcsPolicyRegistry({ storage: other, bucket: bucketName, prefix })),
    cleanup: () => removeAll(prefix),
  });
});

describeCheckpointWitnessContract('GcsCheckpointWitness', () => {
  const prefix = `${freshPrefix()}checkpoints/`;
  return Promise.resolve({
    witness: new GcsCheckpointWitness({ storage, bucket: bucketName, prefix }),
    reopen: () => Promise.resolve(new GcsCheckpointWitness({ storage: other, bucket: bucketName, prefix })),
    cleanup: () => removeAll(prefix),
  });
});

describe('Cloud Storage adapters, beyond the contracts', () => {
  let prefix: string;

  beforeEach(() => {
    prefix = freshPrefix();
  });

  afterEach(async () => {
    await removeAll(prefix);
  });

  it('an archive object has its gs:// location, application/gzip and the sha256 of its bytes', async () => {
    const archive = new GcsArchiveStore({ storage, bucket: bucketName, prefix });
    const data = randomBytes(10_000);
    const stored = await archive.put('acme/2026-11-23.tar.gz', data);
    expect(stored).toEqual({ path: `gs://${bucketName}/${prefix}acme/2026-11-23.tar.gz`, size: 10_000 });
    const [metadata] = await bucket.file(`${prefix}acme/2026-11-23.tar.gz`).getMetadata();
    expect(metadata.contentType).toBe('application/gzip');
    expect(Number(metadata.size)).toBe(10_000);
    expect(metadata.metadata?.sha256).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('an object someone else wrote under an archive name is not overwritten, and is read as it is', async () => {
    const theirs = Buffer.from('written by another tool');
    await bucket.file(`${prefix}acme/2026-11-23.tar.gz`).save(theirs, { resumable: false });
    const archive = new GcsArchiveStore({ storage, bucket: bucketName, prefix });
    const error = await archive.put('acme/2026-11-23.tar.gz', randomBytes(100)).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ARCHIVE_EXISTS', retryable: false });
    expect((error as Error).message).toContain(`gs://${bucketName}/${prefix}acme/2026-11-23.tar.gz`);
    expect((error as Error).cause).toMatchObject({ code: 412 });
    const [still] = await bucket.file(`${prefix}acme/2026-11-23.tar.gz`).download();
    expect(still.equals(theirs)).toBe(true);
    // No sha256 recorded: nothing to check it against, so it is returned as stored.
    expect((await archive.get('acme/2026-11-23.tar.gz'))?.equals(theirs)).toBe(true);
  });

  it('a put whose write landed but was answered 412 (the SDK retrying a lost answer) is its own, and succeeds', async () => {
    const realSave = File.prototype.save as (this: File, data: Buffer, options: SaveOptions) => Promise<void>;
    // The first attempt stores the object; its answer is "lost", and the retry meets the object.
    async function saveThenLoseTheAnswer(this: File, data: Buffer, options: SaveOptions): Promise<void> {
      await realSave.call(this, data, options);
      throw Object.assign(new Error('Precondition Failed'), { code: 412 });
    }
    const save = jest.spyOn(File.prototype, 'save').mockImplementationOnce(saveThenLoseTheAnswer as never);
    try {
      const archive = new GcsArchiveStore({ storage, bucket: bucketName, prefix });
      const data = randomBytes(500);
      expect((await archive.put('acme/2026-11-23.tar.gz', data)).size).toBe(500);
      expect(save).toHaveBeenCalledTimes(1);
      expect((await archive.get('acme/2026-11-23.tar.gz'))?.equals(data)).toBe(true);
      // Another put of the same name is still refused: only the put that wrote it may claim it.
      await expect(archive.put('acme/2026-11-23.tar.gz', data)).rejects.toMatchObject({
        code: 'ARCHIVE_EXISTS',
      });
    } finally {
      save.mockRestore();
    }
  });

  it('get refuses an archive whose bytes do not match its recorded sha256', async () => {
    await bucket.file(`${prefix}acme/2026-11-23.tar.gz`).save(Buffer.from('tampered'), {
      resumable: false,
      metadata: { metadata: { sha256: createHash('sha256').update('original').digest('hex') } },
    });
    const archive = new GcsArchiveStore({ storage, bucket: bucketName, prefix });
    await expect(archive.get('acme/2026-11-23.tar.gz')).rejects.toMatchObject({ code: 'ARCHIVE_CORRUPT' });
  });

  it('archive names that could escape the prefix are refused before any request', async () => {
    const archive = new GcsArchiveStore({ storage, bucket: bucketName, prefix });
    for (const name of ['../acme/2026-11-23.tar.gz', '/acme/x.tar.gz', 'acme//x.tar.gz', 'acme/.hidden']) {
      await expect(archive.put(name, Buffer.from('x'))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      await expect(archive.get(name)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(() => new GcsArchiveStore({ storage, bucket: bucketName, prefix: 'no-slash' })).toThrow(/prefix/);
  });

  it('a policy version is immutable: the same document again resolves, a different one is POLICY_EXISTS', async () => {
    const registry = new GcsPolicyRegistry({ storage, bucket: bucketName, prefix });
    const doc = { plan_type: 'starter', policy_version: '1.0.0', quotas: { monthly_actions: 1000 } };
    await registry.put('starter', '1.0.0', doc);
    // Same value, other key order: what another worker re-putting a broadcast policy sends.
    await registry.put('starter', '1.0.0', {
      quotas: { monthly_actions: 1000 },
      policy_version: '1.0.0',
      plan_type: 'starter',
    });
    await expect(
      registry.put('starter', '1.0.0', { ...doc, quotas: { monthly_actions: 2000 } }),
    ).rejects.toMatchObject({ code: 'POLICY_EXISTS', message: expect.stringContaining('starter 1.0.0') });
    expect(await registry.get('starter', '1.0.0')).toEqual(doc);
  });

  it('reads policies published by GitOps as files, ignoring what is not a version', async () => {
    const publish = (name: string, text: string) =>
      bucket.file(`${prefix}${name}`).save(text, { resumable: false, contentType: 'application/json' });
    await publish('starter/1.2.0.json', '{"plan_type":"starter","policy_version":"1.2.0"}');
    await publish('starter/1.10.0.json', '{\n  "policy_version": "1.10.0"\n}\n');
    await publish('starter/README.md', '# not a policy');
    await publish('starter/2.0.0-rc.1.json', '{}');
    await publish('starter/old/9.0.0.json', '{}');
    await publish('starter-2/9.0.0.json', '{"plan_type":"starter-2"}');
    const registry = new GcsPolicyRegistry({ storage, bucket: bucketName, prefix });
    expect(await registry.latest('starter')).toEqual({ policy_version: '1.10.0' });
    await expect(registry.get('starter', '0.1.0')).rejects.toMatchObject({ code: 'POLICY_NOT_FOUND' });
    await expect(registry.latest('enterprise')).rejects.toMatchObject({
      code: 'PLAN_UNKNOWN',
      message: 'no policy is published for plan enterprise',
    });
  });

  it('a stored policy that is not JSON or names another version is POLICY_CORRUPT', async () => {
    await bucket.file(`${prefix}starter/1.0.0.json`).save('{ not json', { resumable: false });
    await bucket.file(`${prefix}starter/1.1.0.json`).save('{"policy_version":"1.0.0"}', { resumable: false });
    const registry = new GcsPolicyRegistry({ storage, bucket: bucketName, prefix });
    await expect(registry.get('starter', '1.0.0')).rejects.toMatchObject({ code: 'POLICY_CORRUPT' });
    await expect(registry.latest('starter')).rejects.toMatchObject({
      code: 'POLICY_CORRUPT',
      message: expect.stringContaining('1.1.0'),
    });
  });

  it('witness notes are objects {chain}/{size}.note; other objects in the folder are ignored', async () => {
    const witness = new GcsCheckpointWitness({ storage, bucket: bucketName, prefix });
    await witness.witness('tenants/acme', 12, 'note 12\n');
    const [text] = await bucket.file(`${prefix}tenants/acme/12.note`).download();
    expect(text.toString()).toBe('note 12\n');
    for (const stray of ['tenants/acme/0099.note', 'tenants/acme/99.note.tmp', 'tenants/acme/x/99.note'])
      await bucket.file(`${prefix}${stray}`).save('stray', { resumable: false });
    expect(await witness.latest('tenants/acme')).toBe('note 12\n');
  });

  it('a storage failure is a retryable STORAGE_UNAVAILABLE naming what was being done', async () => {
    const unreachable = new Storage({
      projectId,
      apiEndpoint: 'http://127.0.0.1:9',
      retryOptions: { autoRetry: false },
    });
    const witness = new GcsCheckpointWitness({ storage: unreachable, bucket: bucketName, prefix });
    await expect(witness.latest('tenants/acme')).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      retryable: true,
      message: expect.stringContaining('tenants/acme'),
    });
  });

  it('a missing bucket is a non-retryable STORAGE_REJECTED that says to check the bucket', async () => {
    const missing = uniqueName('no-such-bucket');
    const witness = new GcsCheckpointWitness({ storage, bucket: missing, prefix });
    await expect(witness.witness('tenants/acme', 1, 'note\n')).rejects.toMatchObject({
      code: 'STORAGE_REJECTED',
      retryable: false,
      message: expect.stringContaining(missing),
    });
  });
});
