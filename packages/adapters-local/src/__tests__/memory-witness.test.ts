import { describeCheckpointWitnessContract } from '@governor/testkit';
import { MemoryWitness } from '../memory-witness';

describeCheckpointWitnessContract('MemoryWitness', () =>
  Promise.resolve({ witness: new MemoryWitness(), cleanup: () => Promise.resolve() }),
);
