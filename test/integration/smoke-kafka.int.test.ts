import { Kafka, logLevel } from 'kafkajs';
import { backends, uniqueName } from '../support/backends';

describe('Kafka broker smoke', () => {
  const kafka = new Kafka({
    clientId: 'governor-smoke',
    brokers: [...backends.kafka],
    logLevel: logLevel.NOTHING,
  });

  it('produces and consumes in a consumer group', async () => {
    const topic = uniqueName('tenants.smoke.signals');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const sent = Array.from({ length: 10 }, (_, i) => `s${i}`);
    await producer.send({ topic, messages: sent.map((value) => ({ key: 'acme', value })) });
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: uniqueName('governor') });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received only ${received.length}`)), 30_000);
      void consumer
        .run({
          eachMessage: async ({ message }) => {
            received.push(message.value?.toString() ?? '');
            if (received.length === sent.length) {
              clearTimeout(timer);
              resolve();
            }
            return Promise.resolve();
          },
        })
        .catch(reject);
    });
    await consumer.disconnect();
    // One key means one partition, so order is kept.
    expect(received).toEqual(sent);
  });
});
