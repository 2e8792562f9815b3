import { MemoryLedger } from '@governor/governor/testing';
import { ConfigError } from '@governor/stores';
import pino from 'pino';
import { buildIngress } from '../app';
import { defaultEdgeLimits, edgeLimitsFromEnv, parseSoftFdLimit } from '../edge-limits';
import type { GovernorGateway } from '../gateway';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            20000                524288               files
Max locked memory         8388608              8388608              bytes
`;

describe('the soft file-descriptor limit', () => {
  it.each([
    ['a number', LIMITS, 20000],
    ['unlimited', LIMITS.replace('20000 ', 'unlimited'), undefined],
    ['absent', 'Limit Soft Limit\n', undefined],
  ])('is read from /proc/self/limits when %s', (_name, text, expected) => {
    expect(parseSoftFdLimit(text)).toBe(expected);
  });
});

describe('the default connection cap', () => {
  it.each([
    [20_000, 2_048],
    [2_048, 1_024],
    [1_024, 512],
    [256, 128],
    [1, 1],
    [undefined, 512],
  ])('with %s file descriptors is %s', (fdLimit, cap) => {
    expect(defaultEdgeLimits(fdLimit).maxConnections).toBe(cap);
  });
});

describe('edgeLimitsFromEnv', () => {
  const fd = { fdLimit: 20_000 };

  it('gives the defaults without variables (and for empty ones)', () => {
    expect(edgeLimitsFromEnv({ GOVERNOR_HTTP_MAX_CONNECTIONS: '' }, fd)).toEqual({
      headersTimeoutMs: 10_000,
      requestTimeoutMs: 30_000,
      keepAliveTimeoutMs: 10_000,
      idleTimeoutMs: 60_000,
      maxConnections: 2_048,
    });
  });

  it('takes every variable', () => {
    expect(
      edgeLimitsFromEnv(
        {
          GOVERNOR_HTTP_HEADERS_TIMEOUT_MS: '5000',
          GOVERNOR_HTTP_REQUEST_TIMEOUT_MS: '20000',
          GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS: '620000',
          GOVERNOR_HTTP_IDLE_TIMEOUT_MS: '90000',
          GOVERNOR_HTTP_MAX_CONNECTIONS: '15000',
        },
        fd,
      ),
    ).toEqual({
      headersTimeoutMs: 5_000,
      requestTimeoutMs: 20_000,
      keepAliveTimeoutMs: 620_000,
      idleTimeoutMs: 90_000,
      maxConnections: 15_000,
    });
  });

  it('keeps the idle timeout above the longest answer', () => {
    expect(edgeLimitsFromEnv({}, { ...fd, longestAnswerMs: 120_000 }).idleTimeoutMs).toBe(125_000);
    expect(edgeLimitsFromEnv({}, { ...fd, longestAnswerMs: 10_000 }).idleTimeoutMs).toBe(60_000);
  });

  it.each([
    [
      'GOVERNOR_HTTP_HEADERS_TIMEOUT_MS',
      'abc',
      /^GOVERNOR_HTTP_HEADERS_TIMEOUT_MS: expected whole milliseconds$/,
    ],
    [
      'GOVERNOR_HTTP_REQUEST_TIMEOUT_MS',
      '1e3',
      /^GOVERNOR_HTTP_REQUEST_TIMEOUT_MS: expected whole milliseconds$/,
    ],
    ['GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS', '0x10', /^GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS: /],
    ['GOVERNOR_HTTP_IDLE_TIMEOUT_MS', '-5', /^GOVERNOR_HTTP_IDLE_TIMEOUT_MS: /],
    ['GOVERNOR_HTTP_HEADERS_TIMEOUT_MS', '50', /^GOVERNOR_HTTP_HEADERS_TIMEOUT_MS: .*100/],
    ['GOVERNOR_HTTP_MAX_CONNECTIONS', '0', /^GOVERNOR_HTTP_MAX_CONNECTIONS: /],
    ['GOVERNOR_HTTP_MAX_CONNECTIONS', '2.5', /^GOVERNOR_HTTP_MAX_CONNECTIONS: expected a whole number$/],
    [
      'GOVERNOR_HTTP_MAX_CONNECTIONS',
      '15001',
      /^GOVERNOR_HTTP_MAX_CONNECTIONS \(15001\) must leave .* at most 15000$/,
    ],
    [
      'GOVERNOR_HTTP_HEADERS_TIMEOUT_MS',
      '40000',
      /must not exceed GOVERNOR_HTTP_REQUEST_TIMEOUT_MS \(30000\)/,
    ],
    ['GOVERNOR_HTTP_IDLE_TIMEOUT_MS', '10000', /must be longer than the longest answer \(10000 ms/],
  ])('refuses %s=%s with a one-line ConfigError', (name, value, message) => {
    const parse = () => edgeLimitsFromEnv({ [name]: value }, { ...fd, longestAnswerMs: 10_000 });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (e) {
      expect((e as Error).message).not.toContain('\n');
    }
  });
});

describe('buildIngress', () => {
  it('sets the limits on its HTTP server', async () => {
    const app = buildIngress({
      gateway: {} as GovernorGateway,
      ledger: new MemoryLedger(),
      latestCheckpoint: () => Promise.resolve(null),
      keys: () => [],
      webhookSecrets: [],
      policySecrets: [],
      tokens: new Map(),
      logger: pino({ level: 'silent' }),
      limits: {
        headersTimeoutMs: 4_000,
        requestTimeoutMs: 8_000,
        keepAliveTimeoutMs: 3_000,
        maxConnections: 7,
      },
    });
    expect({
      headersTimeout: app.server.headersTimeout,
      requestTimeout: app.server.requestTimeout,
      keepAliveTimeout: app.server.keepAliveTimeout,
      timeout: app.server.timeout,
      maxConnections: app.server.maxConnections,
    }).toEqual({
      headersTimeout: 4_000,
      requestTimeout: 8_000,
      keepAliveTimeout: 3_000,
      timeout: 60_000,
      maxConnections: 7,
    });
    await app.close();
  });
});
