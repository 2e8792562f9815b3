import { Storage } from '@google-cloud/storage';
import { backends, projectId, uniqueName } from '../support/backends';

describe('fake-gcs-server smoke', () => {
  const storage = new Storage({ projectId, apiEndpoint: backends.gcs });

  it('uploads and downloads an object, and refuses to overwrite with ifGenerationMatch: 0', async () => {
    const [bucket] = await storage.createBucket(uniqueName('smoke'));
    const file = bucket.file('acme/2026-11-23.tar.gz');
    const payload = Buffer.from('archive bytes \u2713');
    await file.save(payload, { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } });

    const [downloaded] = await file.download();
    expect(downloaded.equals(payload)).toBe(true);

    await expect(
      file.save(Buffer.from('other'), { resumable: false, preconditionOpts: { ifGenerationMatch: 0 } }),
    ).rejects.toMatchObject({ code: 412 });
    await bucket.deleteFiles({ force: true });
    await bucket.delete();
  });
});
