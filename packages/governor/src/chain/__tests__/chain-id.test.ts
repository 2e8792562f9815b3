import { checkChainId } from '../chain-id';

describe('checkChainId', () => {
  it.each(['tenants/acme', 'workers/worker-1'])('accepts %p', (chain) => {
    expect(() => checkChainId(chain)).not.toThrow();
  });

  it.each(['acme', 'tenants/', 'tenants/../x', 'buckets/acme', 'tenants/Acme', ''])(
    'refuses %p as a non-retryable invalid argument',
    (chain) => {
      expect(() => checkChainId(chain)).toThrow(
        expect.objectContaining({ code: 'LEDGER_UNAVAILABLE', retryable: false }),
      );
    },
  );
});
