import { GovernorError, type Store } from '@governor/governor';
import {
  DeadlineError,
  GrpcCode,
  directoryError,
  firestoreError,
  ledgerError,
  ledgerRefused,
  leaseError,
  withDeadline,
} from '../firestore-errors';
import { GcsAdapterError, invalidArgument, storageFailure } from '../gcs-errors';
import { PubSubAdapterError, unavailable } from '../pubsub-errors';

function grpcError(code: number, message = `status ${code}`): Error {
  return Object.assign(new Error(message), { code });
}

describe('firestoreError', () => {
  it.each<[Store, string]>([
    ['ledger', 'LEDGER_UNAVAILABLE'],
    ['directory', 'DIRECTORY_UNAVAILABLE'],
    ['lease', 'LEASE_UNAVAILABLE'],
  ])('%s: an outage is a retryable %s, a refused request a final one', (store, code) => {
    const down = grpcError(GrpcCode.UNAVAILABLE);
    expect(firestoreError(store, 'reading', down)).toMatchObject({ code, retryable: true, cause: down });
    const refused = grpcError(GrpcCode.INVALID_ARGUMENT);
    expect(firestoreError(store, 'reading', refused)).toMatchObject({
      code,
      retryable: false,
      cause: refused,
    });
  });

  it.each([GrpcCode.ALREADY_EXISTS, GrpcCode.FAILED_PRECONDITION, GrpcCode.ABORTED])(
    'a lost race (gRPC %i) is a LEDGER_CONFLICT on the ledger and a final refusal elsewhere',
    (status) => {
      const lost = grpcError(status);
      expect(ledgerError('append', lost)).toMatchObject({
        code: 'LEDGER_CONFLICT',
        retryable: false,
        cause: lost,
      });
      expect(directoryError('put', lost)).toMatchObject({ code: 'DIRECTORY_UNAVAILABLE', retryable: false });
      expect(leaseError('acquire', lost)).toMatchObject({ code: 'LEASE_UNAVAILABLE', retryable: false });
    },
  );

  it('passes a GovernorError thrown inside the call through', () => {
    const fenced = new GovernorError('LEDGER_FENCED', 'epoch 3 < 4', false);
    expect(ledgerError('append', fenced)).toBe(fenced);
  });

  it("reports a missed deadline as the store's retryable outage, keeping the DeadlineError as cause", async () => {
    const never = () => new Promise<never>(() => undefined);
    const missed = await withDeadline(10, never).catch((e: unknown) => e);
    expect(missed).toBeInstanceOf(DeadlineError);
    expect(missed).toBeInstanceOf(GovernorError);
    expect(missed).toMatchObject({ code: 'DEADLINE', retryable: true });
    expect(leaseError('listing leases', missed)).toMatchObject({
      code: 'LEASE_UNAVAILABLE',
      retryable: true,
      message: 'listing leases: no answer from Firestore within 10 ms',
      cause: missed,
    });
  });

  it('refuses a request before sending it as Firestore would', () => {
    expect(ledgerRefused('checkpoint of tenants/acme', 'size -1 is not a size')).toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
      message: 'checkpoint of tenants/acme: Firestore refused the request: size -1 is not a size',
    });
  });
});

describe('the Cloud Storage and Pub/Sub errors', () => {
  it('are GovernorErrors that keep their names and codes', () => {
    expect(invalidArgument('bad prefix')).toBeInstanceOf(GovernorError);
    expect(invalidArgument('bad prefix')).toMatchObject({
      name: 'GcsAdapterError',
      code: 'INVALID_ARGUMENT',
      retryable: false,
    });
    const cause = new Error('ECONNREFUSED');
    const down = unavailable('publishing', cause);
    expect(down).toBeInstanceOf(PubSubAdapterError);
    expect(down).toBeInstanceOf(GovernorError);
    expect(down).toMatchObject({ name: 'PubSubAdapterError', code: 'UNAVAILABLE', retryable: true, cause });
  });

  it.each([
    [503, 'STORAGE_UNAVAILABLE', true],
    [undefined, 'STORAGE_UNAVAILABLE', true],
    [403, 'STORAGE_REJECTED', false],
  ])('storageFailure maps status %p to %s (retryable %p)', (status, code, retryable) => {
    const cause = Object.assign(new Error('failed'), status === undefined ? {} : { code: status });
    const error = storageFailure('reading x', 'bucket', cause);
    expect(error).toBeInstanceOf(GcsAdapterError);
    expect(error).toMatchObject({ code, retryable, cause });
  });
});
