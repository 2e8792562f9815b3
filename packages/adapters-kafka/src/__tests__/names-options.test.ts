import { systemClock } from '@governor/governor';
import { KafkaAdapterError } from '../errors';
import { signalGroupId, signalTopicName } from '../names';
import { resolveOptions } from '../options';

describe('names', () => {
  it('uses the design names, with the namespace as a prefix when given', () => {
    expect(signalTopicName('acme')).toBe('tenants.acme.signals');
    expect(signalGroupId('acme')).toBe('tenants.acme.signals.governor');
    expect(signalTopicName('acme', 'ci-1')).toBe('ci-1.tenants.acme.signals');
    expect(signalGroupId('acme', 'ci-1')).toBe('ci-1.tenants.acme.signals.governor');
  });
});

describe('resolveOptions', () => {
  it('fills in the defaults', () => {
    const resolved = resolveOptions({ brokers: ['127.0.0.1:9092'] });
    expect(resolved).toMatchObject({
      clientId: 'governor',
      namespace: undefined,
      redeliveryDelayMs: 1_000,
      replicationFactor: -1,
      consumer: {
        sessionTimeoutMs: 10_000,
        heartbeatIntervalMs: 1_000,
        rebalanceTimeoutMs: 10_000,
        maxWaitTimeMs: 500,
      },
      clock: systemClock,
    });
  });

  it.each([
    [{ brokers: [] }],
    [{ brokers: ['localhost'] }],
    [{ brokers: ['h:1'], namespace: '.bad' }],
    [{ brokers: ['h:1'], namespace: 'has space' }],
    [{ brokers: ['h:1'], redeliveryDelayMs: -1 }],
    [{ brokers: ['h:1'], replicationFactor: 0 }],
    [{ brokers: ['h:1'], consumer: { heartbeatIntervalMs: 10_000, sessionTimeoutMs: 6_000 } }],
  ])('refuses %j with INVALID_ARGUMENT', (options) => {
    expect(() => resolveOptions(options)).toThrow(KafkaAdapterError);
    expect(() => resolveOptions(options)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
