import { EventEmitter } from 'node:events';
import type { Server } from 'node:http';
import { PassThrough } from 'node:stream';
import type { FastifyBaseLogger } from 'fastify';
import { ConnectionGuard } from '../connection-guard';
import type { EdgeLimits } from '../edge-limits';
import { IngressMetrics } from '../metrics';
import { settle, TestClock } from '@governor/governor/testing';

// The guard's timing on simulated time; its behaviour on real sockets is connection-limits.test.ts.
function guardOnSimulatedTime(maxConnections: number) {
  const clock = new TestClock();
  clock.set(Date.parse('2026-12-02T10:00:00.000Z'));
  const warned: unknown[] = [];
  const log = { warn: (fields: unknown) => warned.push(fields) } as unknown as FastifyBaseLogger;
  const metrics = new IngressMetrics({ processMetrics: false });
  const limits: EdgeLimits = {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    maxConnections,
  };
  const guard = new ConnectionGuard(limits, metrics, log, clock);
  // Only the events the guard listens to: no sockets, no parser.
  const server = new EventEmitter() as unknown as Server;
  guard.attach(server);
  const connect = () => {
    const socket = new PassThrough();
    server.emit('connection', socket);
    return socket;
  };
  return { clock, guard, warned, metrics, connect };
}

describe('ConnectionGuard on simulated time', () => {
  it('at the cap, sheds the oldest connection that has sent no request for a second of the clock, not a younger one', async () => {
    const { clock, guard, connect } = guardOnSimulatedTime(3);
    const oldest = connect();
    clock.increment(500);
    const younger = connect();
    clock.increment(499);
    const third = connect();
    await settle();
    // At the cap, but the oldest has waited 999 ms: nothing to shed yet.
    expect([oldest, younger, third].map((s) => s.destroyed)).toEqual([false, false, false]);
    third.destroy();
    await settle();
    clock.increment(1);
    const fourth = connect();
    await settle();
    // The oldest has now waited a second: it makes room; the younger ones are kept.
    expect([oldest, younger, fourth].map((s) => s.destroyed)).toEqual([true, false, false]);
    guard.stop();
  });

  it('logs one summary of the connections it closed per 10 s of the clock, and none after stop', async () => {
    const { clock, guard, warned, connect } = guardOnSimulatedTime(2);
    connect();
    clock.increment(1_000);
    connect();
    await settle();
    expect(warned).toEqual([]);
    clock.increment(8_999);
    expect(warned).toEqual([]);
    clock.increment(1);
    expect(warned).toEqual([expect.objectContaining({ closed: { shed: 1 }, max_connections: 2 })]);
    // Nothing closed since: no line.
    clock.increment(10_000);
    expect(warned).toHaveLength(1);
    guard.cutReceiving();
    guard.stop();
    expect(warned).toHaveLength(2);
    expect(warned[1]).toMatchObject({ closed: { shutdown: 1 } });
    clock.increment(60_000);
    expect(warned).toHaveLength(2);
  });
});
