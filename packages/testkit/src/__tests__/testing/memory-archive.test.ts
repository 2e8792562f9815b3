import { MemoryArchive } from '@governor/governor/testing';
import { describeArchiveStoreContract } from '../../index';

describeArchiveStoreContract('MemoryArchive', () =>
  Promise.resolve({ archive: new MemoryArchive(), cleanup: () => Promise.resolve() }),
);
