import { describeCheckpointWitnessContract } from '../../index';
import { MemoryWitness } from '@governor/governor/testing';

describeCheckpointWitnessContract('MemoryWitness', () =>
  Promise.resolve({ witness: new MemoryWitness(), cleanup: () => Promise.resolve() }),
);
