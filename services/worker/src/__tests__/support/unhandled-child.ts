// A host process with the unhandled-rejection guard: one background task fails with nobody to
// handle it, and the process must still be serving (its timer fires) afterwards.
import { alertOnUnhandledRejections } from '../../alerts';

alertOnUnhandledRejections({
  alert: (alert) => process.stdout.write(JSON.stringify(alert) + '\n'),
});
void Promise.reject(new Error('the archive store is gone'));
setTimeout(() => process.stdout.write('still serving\n'), 50);
