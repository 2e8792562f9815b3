// Holds a data dir's lock and says so, until killed (a `governor start` that is then SIGKILLed).
import { lockDataDir } from '../../data-dir-lock';

void lockDataDir(process.argv[2] as string).then(() => {
  process.stdout.write('held\n');
  setInterval(() => undefined, 1_000);
});
