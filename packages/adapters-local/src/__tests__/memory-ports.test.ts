import { MemorySpool } from '@governor/governor';
import {
  describeArchiveStoreContract,
  describePolicyRegistryContract,
  describeReceiptSpoolContract,
  describeSignalBusContract,
  describeTenantDirectoryContract,
} from '@governor/testkit';
import { MemoryArchive } from '../memory-archive';
import { MemoryBus } from '../memory-bus';
import { MemoryDirectory } from '../memory-directory';
import { MemoryRegistry } from '../memory-registry';

const nothing = () => Promise.resolve();

describeTenantDirectoryContract('MemoryDirectory', () =>
  Promise.resolve({ directory: new MemoryDirectory(), cleanup: nothing }),
);

describeArchiveStoreContract('MemoryArchive', () =>
  Promise.resolve({ archive: new MemoryArchive(), cleanup: nothing }),
);

describePolicyRegistryContract('MemoryRegistry', () =>
  Promise.resolve({ registry: new MemoryRegistry(), cleanup: nothing }),
);

describeReceiptSpoolContract('MemorySpool', () =>
  Promise.resolve({ spool: new MemorySpool(), cleanup: nothing }),
);

// A short redelivery delay, so the suite's real-time waits stay short; quiet for several of them.
describeSignalBusContract('MemoryBus', () =>
  Promise.resolve({ bus: new MemoryBus(undefined, 20), cleanup: nothing, quietMs: 80 }),
);
