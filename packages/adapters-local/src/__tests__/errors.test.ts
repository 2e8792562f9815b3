import { GovernorError } from '@governor/governor';
import { LocalAdapterError, corrupt, invalidArgument, storeErrors, unavailable } from '../errors';

describe('LocalAdapterError', () => {
  it.each([
    ['INVALID_ARGUMENT', false],
    ['CORRUPT_LEDGER', false],
    ['LOCK_TIMEOUT', true],
  ] as const)('is a GovernorError; %s is retryable: %s', (code, retryable) => {
    const error = new LocalAdapterError(code, 'why');
    expect(error).toBeInstanceOf(GovernorError);
    expect(error).toMatchObject({ name: 'LocalAdapterError', code, retryable });
  });
});

describe('the failures a local ledger reports', () => {
  it('refuses bad input and contradicting files as a final LEDGER_UNAVAILABLE, with the reason as cause', () => {
    const cause = new SyntaxError('Unexpected token');
    expect(invalidArgument('empty batch')).toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
      cause: { name: 'LocalAdapterError', code: 'INVALID_ARGUMENT' },
    });
    expect(corrupt('head.json: not JSON', cause)).toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: false,
      cause: { name: 'LocalAdapterError', code: 'CORRUPT_LEDGER', cause },
    });
  });

  it('reports I/O as a retryable LEDGER_UNAVAILABLE that keeps it as the cause', () => {
    const cause = Object.assign(new Error('EIO: i/o error'), { code: 'EIO' });
    expect(unavailable('reading acme', cause)).toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: true,
      message: 'reading acme: EIO: i/o error',
      cause,
    });
  });

  it('passes GovernorErrors through, but wraps a LocalAdapterError (a reason, not an answer)', () => {
    const conflict = new GovernorError('LEDGER_CONFLICT', 'seq 3 does not continue 2', false);
    expect(unavailable('append to acme', conflict)).toBe(conflict);
    const held = new LocalAdapterError('LOCK_TIMEOUT', 'chain.lock is held by pid 7');
    expect(unavailable('locking acme', held)).toMatchObject({
      code: 'LEDGER_UNAVAILABLE',
      retryable: true,
      message: 'locking acme: chain.lock is held by pid 7',
      cause: held,
    });
  });
});

describe('storeErrors', () => {
  it.each([
    ['directory', 'DIRECTORY_UNAVAILABLE'],
    ['lease', 'LEASE_UNAVAILABLE'],
  ] as const)('gives the %s its own code: %s', (store, code) => {
    const errors = storeErrors(store);
    expect(errors.invalidArgument('bad')).toMatchObject({ code, retryable: false });
    expect(errors.corrupt('bad file')).toMatchObject({ code, retryable: false });
    expect(errors.unavailable('reading', new Error('EIO'))).toMatchObject({ code, retryable: true });
  });
});
