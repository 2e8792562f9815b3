import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { isErrno } from './durable-fs';
import { LocalAdapterError } from './errors';

/** What a lock file holds: enough to tell, from another process, whether its holder is alive. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  /** Linux boot id: a lock from before a reboot is stale whatever its pid. */
  readonly boot: string | null;
  /** Start time of the holder process (Linux), so a reused pid is not mistaken for the holder. */
  readonly start: string | null;
  /** Identifies this module instance; `nonce` identifies one acquisition. */
  readonly token: string;
  readonly nonce: string;
  readonly acquired_at: string;
}

interface SeenLock {
  readonly raw: string;
  readonly owner: LockOwner | null;
  readonly mtimeMs: number;
}

const HOST = hostname();
const TOKEN = randomUUID();
const BOOT_ID = readProcFile('/proc/sys/kernel/random/boot_id');
const OWN_START = startTimeIn(readProcFile(`/proc/${process.pid}/stat`));
/** Nonces of the locks this module instance holds right now. */
const held = new Set<string>();
// A lock file is written right after it is created; unreadable content older than this is debris.
const UNREADABLE_GRACE_MS = 2_000;

function readProcFile(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Field 22 (starttime) of /proc/{pid}/stat; fields are counted after the command name, which may hold spaces. */
function startTimeIn(stat: string | null): string | null {
  if (stat === null) return null;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

async function startTimeOf(pid: number): Promise<string | null> {
  try {
    return startTimeIn(await readFile(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return null;
  }
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return !isErrno(e, 'ESRCH');
  }
}

function ownerRecord(nonce: string): LockOwner {
  return {
    pid: process.pid,
    host: HOST,
    boot: BOOT_ID,
    start: OWN_START,
    token: TOKEN,
    nonce,
    acquired_at: new Date().toISOString(),
  };
}

function parseOwner(raw: string): LockOwner | null {
  try {
    const value = JSON.parse(raw) as Partial<LockOwner>;
    if (typeof value.pid !== 'number' || typeof value.host !== 'string' || typeof value.nonce !== 'string')
      return null;
    return {
      pid: value.pid,
      host: value.host,
      boot: typeof value.boot === 'string' ? value.boot : null,
      start: typeof value.start === 'string' ? value.start : null,
      token: typeof value.token === 'string' ? value.token : '',
      nonce: value.nonce,
      acquired_at: typeof value.acquired_at === 'string' ? value.acquired_at : '',
    };
  } catch {
    return null;
  }
}

async function readLock(path: string): Promise<SeenLock | null> {
  try {
    const [raw, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    return { raw, owner: parseOwner(raw), mtimeMs: info.mtimeMs };
  } catch (e) {
    if (isErrno(e, 'ENOENT')) return null;
    throw e;
  }
}

async function isLive(seen: SeenLock): Promise<boolean> {
  const owner = seen.owner;
  if (owner === null) return Date.now() - seen.mtimeMs < UNREADABLE_GRACE_MS;
  // Another machine's process cannot be checked from here; only its own release frees the lock.
  if (owner.host !== HOST) return true;
  if (owner.boot !== null && BOOT_ID !== null && owner.boot !== BOOT_ID) return false;
  if (owner.token === TOKEN) return held.has(owner.nonce);
  if (!pidExists(owner.pid)) return false;
  const start = await startTimeOf(owner.pid);
  return start === null || owner.start === null || start === owner.start;
}

/** Creates `path` only if absent (`open(..., 'wx')`), with the owner record inside. */
async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, 'wx');
  } catch (e) {
    if (isErrno(e, 'EEXIST')) return false;
    throw e;
  }
  held.add(owner.nonce);
  try {
    await handle.writeFile(JSON.stringify(owner));
  } catch (e) {
    held.delete(owner.nonce);
    await handle.close();
    await rm(path, { force: true });
    throw e;
  }
  await handle.close();
  return true;
}

async function removeIf(path: string, raw: string): Promise<void> {
  const now = await readLock(path);
  if (now !== null && now.raw === raw) await rm(path, { force: true });
}

/**
 * Removes the stale lock `raw` at `path`, unless it changed meanwhile. Breakers serialise on a
 * second lock file: without it, one process could remove the fresh lock another just created
 * after breaking the same stale one.
 */
async function breakStale(path: string, raw: string): Promise<void> {
  const breaker = `${path}.break`;
  const nonce = randomUUID();
  if (!(await tryCreate(breaker, ownerRecord(nonce)))) {
    const other = await readLock(breaker);
    // A breaker that died inside its few-syscall critical section; the check-then-remove here
    // could race only with another process dying in that same window, which we accept.
    if (other !== null && !(await isLive(other))) await removeIf(breaker, other.raw);
    return;
  }
  try {
    await removeIf(path, raw);
  } finally {
    held.delete(nonce);
    await rm(breaker, { force: true });
  }
}

/** The lock is held by a live process (LOCK_TIMEOUT): `holderPid` says which, when its file says. */
export class LockHeld extends LocalAdapterError {
  constructor(
    path: string,
    readonly holderPid: number | null,
    timeoutMs: number,
    holder: LockOwner | null,
  ) {
    super(
      'LOCK_TIMEOUT',
      holder === null
        ? `${path} is held (unreadable lock file) after waiting ${timeoutMs} ms`
        : `${path} is held by pid ${holder.pid} on ${holder.host} since ${holder.acquired_at}, waited ${timeoutMs} ms`,
    );
  }
}

/**
 * An exclusive, cross-process lock: a file created with `open(..., 'wx')` that names its holder.
 * A lock whose holder is dead (process gone, pid reused, machine rebooted) is broken and taken.
 */
export class LockFile {
  private constructor(
    readonly path: string,
    private readonly nonce: string,
  ) {}

  /** Waits up to `timeoutMs` for a live holder to release; then fails with LOCK_TIMEOUT. */
  static async acquire(path: string, timeoutMs: number): Promise<LockFile> {
    const nonce = randomUUID();
    const owner = ownerRecord(nonce);
    const deadline = Date.now() + timeoutMs;
    let pause = 1;
    for (;;) {
      if (await tryCreate(path, owner)) return new LockFile(path, nonce);
      const seen = await readLock(path);
      if (seen === null) continue;
      if (!(await isLive(seen))) {
        await breakStale(path, seen.raw);
      } else if (Date.now() >= deadline) {
        throw new LockHeld(path, seen.owner?.pid ?? null, timeoutMs, seen.owner);
      }
      await sleep(pause);
      pause = Math.min(pause * 2, 20);
    }
  }

  /**
   * Removes the lock if it is still this one. Never throws: a lock file that could not be
   * removed is recognised as stale by this process and broken on its next acquire.
   */
  async release(): Promise<void> {
    held.delete(this.nonce);
    try {
      const seen = await readLock(this.path);
      if (seen?.owner?.nonce === this.nonce) await rm(this.path, { force: true });
    } catch {
      // See above: the leftover is harmless to this process and is broken when next needed.
    }
  }
}
