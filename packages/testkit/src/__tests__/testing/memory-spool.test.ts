import { MemorySpool } from '@governor/governor/testing';
import { describeReceiptSpoolContract } from '../../index';

describeReceiptSpoolContract('MemorySpool', () =>
  Promise.resolve({ spool: new MemorySpool(), cleanup: () => Promise.resolve() }),
);
