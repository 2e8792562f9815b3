import {
  GovernorError,
  GovernorErrorCode,
  ensureGovernorError,
  invalidAccountId,
  isRetryable,
  planUnknown,
  policyInvalid,
  skuNotInPlan,
  storeRefused,
  storeUnavailable,
  type Store,
} from '../errors';

describe('GovernorError', () => {
  it('keeps its code, message, retryable and cause', () => {
    const cause = new Error('EIO');
    const error = new GovernorError('LEDGER_UNAVAILABLE', 'reading acme: EIO', true, { cause });
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({
      name: 'GovernorError',
      code: 'LEDGER_UNAVAILABLE',
      message: 'reading acme: EIO',
      retryable: true,
      cause,
    });
  });

  it('is the base of the errors adapters define with codes of their own', () => {
    class BusError extends GovernorError {
      declare readonly code: 'TOPIC_NOT_FOUND' | 'UNAVAILABLE';
      override readonly name = 'BusError';
    }
    const error = new BusError('TOPIC_NOT_FOUND', 'no topic tenants.acme.signals', false);
    expect(error).toBeInstanceOf(GovernorError);
    expect(error).toMatchObject({ name: 'BusError', code: 'TOPIC_NOT_FOUND', retryable: false });
  });

  it('has one code for each key of GovernorErrorCode', () => {
    for (const [key, code] of Object.entries(GovernorErrorCode)) expect(code).toBe(key);
  });
});

describe('store failures', () => {
  it.each<[Store, GovernorErrorCode]>([
    ['ledger', 'LEDGER_UNAVAILABLE'],
    ['directory', 'DIRECTORY_UNAVAILABLE'],
    ['lease', 'LEASE_UNAVAILABLE'],
  ])('an outage of the %s is a retryable %s, a refusal a final one', (store, code) => {
    const cause = new Error('ECONNREFUSED');
    expect(storeUnavailable(store, 'x', cause)).toMatchObject({ code, retryable: true, cause });
    expect(storeRefused(store, 'y', cause)).toMatchObject({ code, retryable: false, cause });
  });

  it('sets no cause when there is none', () => {
    expect('cause' in storeRefused('ledger', 'bad batch')).toBe(false);
  });

  it('refuses an account id as INVALID_ACCOUNT_ID, final, quoting it', () => {
    expect(invalidAccountId('../etc')).toMatchObject({
      code: 'INVALID_ACCOUNT_ID',
      retryable: false,
      message: 'not an account id: "../etc"',
    });
  });

  it('says an unknown plan without saying where the registry looked', () => {
    expect(planUnknown('pro')).toMatchObject({
      code: 'PLAN_UNKNOWN',
      retryable: false,
      message: 'no policy is published for plan pro',
    });
  });
});

describe('policy refusals', () => {
  it.each([
    [
      'POLICY_INVALID',
      policyInvalid('pro', 'skus: required'),
      'plan pro has no valid policy: skus: required',
    ],
    ['SKU_NOT_IN_PLAN', skuNotInPlan('sku-9', 'pro'), 'sku sku-9 is not served by plan pro'],
  ])('%s is final', (code, error, message) => {
    expect(error).toMatchObject({ code, message, retryable: false });
  });
});

describe('isRetryable', () => {
  it.each<[string, unknown, boolean]>([
    ['a retryable GovernorError is retryable', storeUnavailable('ledger', 'down'), true],
    ['a final GovernorError is not', storeRefused('ledger', 'bad'), false],
    ['any error that says retryable: true is', Object.assign(new Error('x'), { retryable: true }), true],
    ['one that says retryable: "yes" is not', Object.assign(new Error('x'), { retryable: 'yes' }), false],
    ['a plain Error is not', new Error('x'), false],
    ['a string is not', 'x', false],
    ['null is not', null, false],
  ])('%s', (_, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });
});

describe('ensureGovernorError', () => {
  it('passes a GovernorError, or a subclass, through as it is', () => {
    class BusError extends GovernorError {}
    const errors = [planUnknown('pro'), new BusError('UNAVAILABLE', 'no broker', true)];
    for (const error of errors) expect(ensureGovernorError(error)).toBe(error);
  });

  it('wraps anything else as a final INTERNAL error that keeps it as the cause', () => {
    const cause = Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
    const error = ensureGovernorError(cause);
    expect(error).toBeInstanceOf(GovernorError);
    expect(error).toMatchObject({
      code: 'INTERNAL',
      retryable: false,
      message: 'EMFILE: too many open files',
      cause,
    });
  });

  it('keeps a failure retryable that said so itself, so isRetryable answers the same', () => {
    const cause = Object.assign(new Error('storage unavailable'), { retryable: true });
    expect(ensureGovernorError(cause)).toMatchObject({ code: 'INTERNAL', retryable: true, cause });
  });

  it.each([
    ['a string', 'boom', 'boom'],
    ['undefined', undefined, 'undefined'],
    ['an object', { reason: 1 }, '[object Object]'],
  ])('wraps %s with its text as the message', (_, thrown, message) => {
    expect(ensureGovernorError(thrown)).toMatchObject({ code: 'INTERNAL', retryable: false, message });
  });
});
