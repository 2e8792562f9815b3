import Fastify from 'fastify';

/**
 * The raw baseline of `pnpm bench:ingress`, run as a child process of the bench: a bare fastify
 * app with one POST route answering 202 with a small JSON object, the body read as raw bytes by
 * the same content-type parser and limit as the ingress (services/ingress/src/app.ts), no
 * logger, no hooks, no auth, no parsing. Prints `url http://HOST:PORT` once it listens, and
 * exits when stdin closes (the bench went away) or on SIGTERM / SIGINT.
 */
async function main(): Promise<void> {
  const bodyLimit = 64 * 1024;
  const app = Fastify({ logger: false, bodyLimit });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(
    /^application\/([a-z.+-]*\+)?json(;.*)?$/i,
    { parseAs: 'buffer', bodyLimit },
    (_req, body, done) => done(null, body),
  );
  app.post('/v1/tenants/:account_id/signals', (request, reply) =>
    reply
      .code(202)
      .send({ accepted: true, account_id: (request.params as { account_id: string }).account_id }),
  );
  const stop = () => void app.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop).resume();
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`url http://127.0.0.1:${port}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`ingress-bare: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
