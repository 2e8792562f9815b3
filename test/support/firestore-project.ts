import { Firestore } from '@google-cloud/firestore';
import { backends, uniqueName } from './backends';

process.env.FIRESTORE_EMULATOR_HOST = backends.firestore;

/**
 * Firestore clients on a project of their own (on the emulator), so each test starts from an
 * empty store; `cleanup` terminates every client it made, so jest can exit.
 */
export function firestoreProject(prefix: string) {
  const projectId = uniqueName(prefix);
  const clients: Firestore[] = [];
  const client = () => {
    const db = new Firestore({ projectId });
    clients.push(db);
    return db;
  };
  const cleanup = async () => {
    await Promise.all(clients.map((db) => db.terminate()));
  };
  return { projectId, client, cleanup };
}
