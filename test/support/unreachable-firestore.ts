// Probes a Firestore that is not there, and reports how the ledger failed. A child process of
// its own: the client keeps retrying the abandoned call long after the ledger gave up on it,
// which would keep a test runner from exiting.
import { Firestore } from '@google-cloud/firestore';
import { FirestoreLedger } from '@governor/adapters-gcp';

delete process.env.FIRESTORE_EMULATOR_HOST;
// The discard port: nothing listens there.
const db = new Firestore({ projectId: 'unreachable', host: '127.0.0.1:9', ssl: false });
const ledger = new FirestoreLedger({ db, workerId: 'worker-1', deadlineMs: 500 });
const started = Date.now();
ledger.probe().then(
  () => {
    process.stdout.write(JSON.stringify({ ok: true }) + '\n');
    process.exit(0);
  },
  (e: { code?: unknown; retryable?: unknown; message?: unknown }) => {
    const ms = Date.now() - started;
    process.stdout.write(
      JSON.stringify({ ok: false, ms, code: e.code, retryable: e.retryable, message: e.message }) + '\n',
    );
    process.exit(0);
  },
);
