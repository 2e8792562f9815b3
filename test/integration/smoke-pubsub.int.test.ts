import { PubSub } from '@google-cloud/pubsub';
import { backends, projectId, uniqueName } from '../support/backends';

// Plumbing only: the official client reaches the emulator and ordering keys are honoured.
describe('Pub/Sub emulator smoke', () => {
  const pubsub = new PubSub({ projectId, apiEndpoint: backends.pubsub, emulatorMode: true });
  afterAll(() => pubsub.close());

  it('publishes with an ordering key and pulls the messages in order', async () => {
    const [topic] = await pubsub.createTopic(uniqueName('smoke'));
    const [subscription] = await topic.createSubscription(uniqueName('smoke-sub'), {
      enableMessageOrdering: true,
    });
    const ordered = pubsub.topic(topic.name, { messageOrdering: true });
    const sent = Array.from({ length: 20 }, (_, i) => `m${i}`);
    for (const data of sent) {
      void ordered.publishMessage({ data: Buffer.from(data), orderingKey: 'acme' });
    }
    await ordered.flush();

    const received: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`received only ${received.length}`)), 20_000);
      subscription.on('error', reject);
      subscription.on('message', (message) => {
        expect(message.orderingKey).toBe('acme');
        received.push(message.data.toString());
        message.ack();
        if (received.length === sent.length) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await subscription.close();
    expect(received).toEqual(sent);
    await subscription.delete();
    await topic.delete();
  });
});
