import { ConfigError, DEFAULT_KAFKA_BROKERS, kafkaBrokersFromEnv } from '..';

describe('kafkaBrokersFromEnv', () => {
  it.each([
    [undefined, [...DEFAULT_KAFKA_BROKERS]],
    ['', [...DEFAULT_KAFKA_BROKERS]],
    ['kafka-0:9092', ['kafka-0:9092']],
    ['a:1, b:2,[::1]:19092', ['a:1', 'b:2', '[::1]:19092']],
  ])('KAFKA_BROKERS=%p is %p', (value, brokers) => {
    expect(kafkaBrokersFromEnv(value === undefined ? {} : { KAFKA_BROKERS: value })).toEqual(brokers);
  });

  it.each(['localhost', '127.0.0.1:9092,', 'a:b'])('KAFKA_BROKERS=%p is a one-line ConfigError', (value) => {
    expect(() => kafkaBrokersFromEnv({ KAFKA_BROKERS: value })).toThrow(ConfigError);
    expect(() => kafkaBrokersFromEnv({ KAFKA_BROKERS: value })).toThrow(
      `KAFKA_BROKERS: expected host:port[,host:port...], got '${value}'`,
    );
  });
});
