import { join } from 'node:path';
import {
  DirectoryArchive,
  DirectoryPolicyRegistry,
  FileDirectory,
  FileLedger,
  FileSpool,
  LogAlertSink,
} from '@governor/adapters-local';
import { systemClock, type RuntimeDeps } from '@governor/governor';
import { MemoryBus } from '@governor/governor/testing';
import { SigningKey } from '@governor/receipts';
import { scriptedHandler } from '../harness';

export const CRASH_KEY = SigningKey.fromSeed(Buffer.alloc(32, 21));

/** A runtime's dependencies on the durable file adapters in `dir`, as the embedded default has them. */
export async function fileRuntimeDeps(
  dir: string,
  workerId: string,
): Promise<RuntimeDeps & { ledger: FileLedger; directory: FileDirectory }> {
  return {
    workerId,
    ledger: await FileLedger.open(join(dir, 'ledger')),
    directory: new FileDirectory(join(dir, 'directory')),
    bus: new MemoryBus(),
    archive: new DirectoryArchive(join(dir, 'archive')),
    registry: new DirectoryPolicyRegistry(join(__dirname, '..', '..', '..', 'policies'), { readOnly: true }),
    spool: new FileSpool(join(dir, 'spool')),
    handlers: { noop: scriptedHandler, http: scriptedHandler },
    alerts: new LogAlertSink(() => undefined),
    clock: systemClock,
    signer: CRASH_KEY,
    keys: [CRASH_KEY.publicEntry('2026-01-01T00:00:00.000Z')],
  };
}
