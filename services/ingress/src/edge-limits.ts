import { readFileSync } from 'node:fs';
import { ConfigError, parseEnv } from '@governor/stores';
import { z } from 'zod';

/**
 * How long and how many connections the HTTP edge gives its clients. Without them a client that
 * trickles a header or a body a byte at a time holds its connection (and a file descriptor) for
 * as long as it likes, and enough of them leave none for the ledger, the spool and the stores.
 */
export interface EdgeLimits {
  /** The request line and headers must have arrived within this (ms); else 408 and closed. */
  readonly headersTimeoutMs: number;
  /** The whole request, body included, must have arrived within this (ms); else 408 and closed. */
  readonly requestTimeoutMs: number;
  /** A kept-alive connection with no new request within this (ms) is closed. */
  readonly keepAliveTimeoutMs: number;
  /**
   * A connection on which nothing moves for this long (ms) is closed: a client that does not read
   * its answer. Longer than any answer takes to compute (the ingress alone waits up to
   * GOVERNOR_ANSWER_TIMEOUT_MS for a worker's receipt).
   */
  readonly idleTimeoutMs: number;
  /**
   * Open connections at most. At the cap a new connection closes the oldest one that is still
   * sending its request (or idles between requests); when every one is being answered, the new
   * one is refused. Chosen below the file-descriptor limit, whose rest the process needs.
   */
  readonly maxConnections: number;
}

/** Never more connections than this by default: with 64 KiB bodies, at most ~160 MiB buffered. */
export const MAX_CONNECTIONS_CEILING = 2_048;
/** The soft RLIMIT_NOFILE assumed where /proc/self/limits cannot be read (not Linux). */
export const ASSUMED_FD_LIMIT = 1_024;

/**
 * The defaults for a soft file-descriptor limit (`softFdLimit()`): the connection cap is half of
 * it, 2,048 at most, so the ledger, spool and store clients keep the other half.
 */
export function defaultEdgeLimits(fdLimit: number | undefined): EdgeLimits {
  return {
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 30_000,
    keepAliveTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    maxConnections: Math.max(
      1,
      Math.min(MAX_CONNECTIONS_CEILING, Math.floor((fdLimit ?? ASSUMED_FD_LIMIT) / 2)),
    ),
  };
}

/** The soft limit on open files from `/proc/self/limits` text; undefined when unlimited or absent. */
export function parseSoftFdLimit(limits: string): number | undefined {
  const soft = /^Max open files\s+(\S+)/m.exec(limits)?.[1];
  return soft !== undefined && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

/** This process's soft RLIMIT_NOFILE (Node raises it to the hard limit at start), if it can tell. */
export function softFdLimit(): number | undefined {
  try {
    return parseSoftFdLimit(readFileSync('/proc/self/limits', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Whole milliseconds, strict decimal digits (no `1e3`, no `0x10`). */
const ms = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d{1,10}$/, 'expected whole milliseconds')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const Env = z.object({
  GOVERNOR_HTTP_HEADERS_TIMEOUT_MS: ms(100, 600_000).optional(),
  GOVERNOR_HTTP_REQUEST_TIMEOUT_MS: ms(100, 3_600_000).optional(),
  GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS: ms(100, 3_600_000).optional(),
  GOVERNOR_HTTP_IDLE_TIMEOUT_MS: ms(1_000, 3_600_000).optional(),
  GOVERNOR_HTTP_MAX_CONNECTIONS: z
    .string()
    .regex(/^\d{1,7}$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(1))
    .optional(),
});

export interface EdgeLimitsEnvOptions {
  /** The soft file-descriptor limit (default: this process's, from /proc/self/limits). */
  readonly fdLimit?: number | undefined;
  /**
   * The longest a route may take to answer (ms): the idle timeout must exceed it, and defaults
   * to it plus 5 s when that is more than 60 s.
   */
  readonly longestAnswerMs?: number;
}

/**
 * The edge's limits from the environment (see EDGE_LIMITS_HELP), validated once: a bad value is
 * a ConfigError naming its variable (one line, exit 2).
 */
export function edgeLimitsFromEnv(env: NodeJS.ProcessEnv, options: EdgeLimitsEnvOptions = {}): EdgeLimits {
  const fdLimit = 'fdLimit' in options ? options.fdLimit : softFdLimit();
  const e = parseEnv(Env, env);
  const defaults = defaultEdgeLimits(fdLimit);
  const longest = options.longestAnswerMs ?? 0;
  const limits: EdgeLimits = {
    headersTimeoutMs: e.GOVERNOR_HTTP_HEADERS_TIMEOUT_MS ?? defaults.headersTimeoutMs,
    requestTimeoutMs: e.GOVERNOR_HTTP_REQUEST_TIMEOUT_MS ?? defaults.requestTimeoutMs,
    keepAliveTimeoutMs: e.GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS ?? defaults.keepAliveTimeoutMs,
    idleTimeoutMs: e.GOVERNOR_HTTP_IDLE_TIMEOUT_MS ?? Math.max(defaults.idleTimeoutMs, longest + 5_000),
    maxConnections: e.GOVERNOR_HTTP_MAX_CONNECTIONS ?? defaults.maxConnections,
  };
  if (limits.headersTimeoutMs > limits.requestTimeoutMs)
    throw new ConfigError(
      `GOVERNOR_HTTP_HEADERS_TIMEOUT_MS (${limits.headersTimeoutMs}) must not exceed GOVERNOR_HTTP_REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs}): the headers are part of the request`,
    );
  if (limits.idleTimeoutMs <= longest)
    throw new ConfigError(
      `GOVERNOR_HTTP_IDLE_TIMEOUT_MS (${limits.idleTimeoutMs}) must be longer than the longest answer (${longest} ms, GOVERNOR_ANSWER_TIMEOUT_MS), or slow answers are cut off`,
    );
  const usable = Math.floor((fdLimit ?? Infinity) * 0.75);
  if (limits.maxConnections > usable)
    throw new ConfigError(
      `GOVERNOR_HTTP_MAX_CONNECTIONS (${limits.maxConnections}) must leave a quarter of the ${fdLimit} file descriptors (ulimit -n) to the ledger, spool and stores: at most ${usable}`,
    );
  return limits;
}

/** The variables, for `--help` texts. */
export const EDGE_LIMITS_HELP = `  GOVERNOR_HTTP_HEADERS_TIMEOUT_MS    request line and headers must arrive within (10000)
  GOVERNOR_HTTP_REQUEST_TIMEOUT_MS    the whole request, body included, within (30000)
  GOVERNOR_HTTP_KEEP_ALIVE_TIMEOUT_MS an idle kept-alive connection is closed after (10000)
  GOVERNOR_HTTP_IDLE_TIMEOUT_MS       a connection where nothing moves is closed after (60000)
  GOVERNOR_HTTP_MAX_CONNECTIONS       open connections at most (half of ulimit -n, 2048 at most)`;
