import { GovernorError } from '@governor/governor';
import { KafkaAdapterError, invalidArgument, topicNotFound, unavailable } from '../errors';

describe('KafkaAdapterError', () => {
  it('is a GovernorError that keeps its name, code and cause', () => {
    const cause = new Error('UNKNOWN_TOPIC_OR_PARTITION');
    const error = topicNotFound('tenants.acme.signals', 'acme', cause);
    expect(error).toBeInstanceOf(KafkaAdapterError);
    expect(error).toBeInstanceOf(GovernorError);
    expect(error).toMatchObject({
      name: 'KafkaAdapterError',
      code: 'TOPIC_NOT_FOUND',
      retryable: false,
      cause,
    });
  });

  it('says a bad argument is final and a broker outage retryable', () => {
    expect(invalidArgument('bad id')).toMatchObject({ code: 'INVALID_ARGUMENT', retryable: false });
    const down = new Error('Connection error: ECONNREFUSED');
    expect(unavailable('publishing to acme', down)).toMatchObject({
      code: 'UNAVAILABLE',
      retryable: true,
      cause: down,
    });
  });

  it('passes its own errors through unavailable, and only those', () => {
    const own = invalidArgument('bad id');
    expect(unavailable('publishing', own)).toBe(own);
    const other = new GovernorError('LEDGER_UNAVAILABLE', 'down', true);
    expect(unavailable('publishing', other)).toMatchObject({ code: 'UNAVAILABLE', cause: other });
  });
});
