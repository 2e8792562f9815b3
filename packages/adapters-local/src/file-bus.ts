import { mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ACCOUNT_ID_PATTERN } from '@governor/contracts';
import { systemClock, type Clock, type Delivery, type Signal, type SignalBus } from '@governor/governor';
import { fsyncDirectory, isErrno, readTextIfPresent, sizeOf, truncateDurably } from './durable-fs';
import { corrupt, invalidArgument, unavailable } from './errors';
import { KeyedMutex } from './keyed-mutex';
import { MemoryBus } from '@governor/governor/testing';

/** A topic's files are emptied once everything in them is settled and they hold this many signals. */
const COMPACT_AFTER = 1_000;

function checkAccountId(accountId: string): void {
  if (!ACCOUNT_ID_PATTERN.test(accountId))
    throw invalidArgument(`not an account_id: ${JSON.stringify(accountId)}`);
}

/**
 * Lines appended to one file, fsynced before the append resolves. Appends that arrive while a
 * write is under way go out together in the next one (group commit), so many concurrent
 * publishers share one fsync.
 */
class AppendLog {
  private handle: FileHandle | null = null;
  private waiting: { line: string; done: () => void; failed: (e: unknown) => void }[] = [];
  private writing: Promise<void> | null = null;

  constructor(readonly path: string) {}

  append(line: string): Promise<void> {
    return new Promise<void>((done, failed) => {
      this.waiting.push({ line, done, failed });
      this.writing ??= this.drain();
    });
  }

  private async drain(): Promise<void> {
    while (this.waiting.length > 0) {
      const batch = this.waiting;
      this.waiting = [];
      try {
        this.handle ??= await open(this.path, 'a');
        await this.handle.write(batch.map((w) => `${w.line}\n`).join(''));
        await this.handle.datasync();
        for (const w of batch) w.done();
      } catch (e) {
        for (const w of batch) w.failed(e);
      }
    }
    this.writing = null;
  }

  /** Creates the file if it is not there (the caller fsyncs the directory). */
  async create(): Promise<void> {
    this.handle ??= await open(this.path, 'a');
  }

  /** Waits for appends under way, then empties the file. */
  async truncate(): Promise<void> {
    await this.writing;
    this.handle ??= await open(this.path, 'a');
    await this.handle.truncate(0);
    await this.handle.datasync();
  }

  async close(): Promise<void> {
    await this.writing;
    await this.handle?.close();
    this.handle = null;
  }
}

/** One tenant's topic on disk: the signals published (`.log`) and the ids settled (`.acked`). */
class TopicFiles {
  readonly published: AppendLog;
  readonly acked: AppendLog;
  /** Ids of signals written and not yet settled, and how many signals the files hold. */
  readonly unsettled = new Set<string>();
  lines = 0;

  constructor(dir: string, accountId: string) {
    this.published = new AppendLog(join(dir, `${accountId}.log`));
    this.acked = new AppendLog(join(dir, `${accountId}.acked`));
  }

  /** The signals of a previous process that were never settled, in publish order. */
  async load(): Promise<Signal[]> {
    const [published, acked] = await Promise.all([
      readTextIfPresent(this.published.path),
      readTextIfPresent(this.acked.path),
    ]);
    const settled = new Set((acked ?? '').split('\n').filter(Boolean));
    const pending = new Map<string, Signal>();
    const text = published ?? '';
    // A last line without its newline was cut by a crash mid-write: never answered, so dropped.
    const end = text.lastIndexOf('\n') + 1;
    if (end < text.length) await truncateDurably(this.published.path, Buffer.byteLength(text.slice(0, end)));
    const complete = text.slice(0, end).split('\n').slice(0, -1);
    for (const [i, line] of complete.entries()) {
      let signal: Signal;
      try {
        signal = JSON.parse(line) as Signal;
      } catch (e) {
        throw corrupt(`${this.published.path}: line ${i + 1} is not JSON`, e);
      }
      if (!settled.has(signal.signal_id)) pending.set(signal.signal_id, signal);
    }
    this.lines = complete.length;
    for (const id of pending.keys()) this.unsettled.add(id);
    return [...pending.values()];
  }

  async close(): Promise<void> {
    await Promise.all([this.published.close(), this.acked.close()]);
  }
}

/**
 * The embedded default's signal transport: `MemoryBus`'s ordered delivery and redelivery, with
 * every signal written ahead to `<root>/{account_id}.log` (fsynced, concurrent publishes sharing
 * one fsync) before `publish` resolves, and every ack to `<root>/{account_id}.acked`. A signal
 * answered 202 is therefore on disk: after a crash, the tenant's first subscription (or publish)
 * in the next process delivers again, in order, every signal that was not acked. Acks are
 * written without waiting: one lost in a crash means a redelivery, which the action log answers
 * as a duplicate. Once every signal of a topic is settled and it holds `COMPACT_AFTER` of them,
 * both files are emptied.
 *
 * Meant for one process per data dir (the data dir lock sees to that).
 */
export class FileBus implements SignalBus {
  readonly root: string;
  private readonly memory: MemoryBus;
  private readonly topics = new Map<string, Promise<TopicFiles>>();
  private readonly mutex = new KeyedMutex();

  constructor(root: string, clock: Clock = systemClock, redeliveryMs = 200) {
    this.root = resolve(root);
    this.memory = new MemoryBus(clock, redeliveryMs);
  }

  /** Deliveries handed out and not yet settled. */
  get outstanding(): number {
    return this.memory.outstanding;
  }

  async createTopic(accountId: string): Promise<void> {
    await this.files(accountId, { create: true });
  }

  async deleteTopic(accountId: string): Promise<void> {
    checkAccountId(accountId);
    await this.mutex.run(accountId, async () => {
      const topic = this.topics.get(accountId);
      this.topics.delete(accountId);
      await this.memory.deleteTopic(accountId);
      await (await topic?.catch(() => null))?.close();
      try {
        await rm(join(this.root, `${accountId}.log`), { force: true });
        await rm(join(this.root, `${accountId}.acked`), { force: true });
        await fsyncDirectory(this.root).catch((e: unknown) => {
          if (!isErrno(e, 'ENOENT')) throw e;
        });
      } catch (e) {
        throw unavailable(`deleting the signal log of ${accountId}`, e);
      }
    });
  }

  async topicExists(accountId: string): Promise<boolean> {
    checkAccountId(accountId);
    return this.topics.has(accountId) || this.onDisk(accountId);
  }

  /** One stat of the tenant's log, not a listing of every tenant's (resume asks once per tenant). */
  private async onDisk(accountId: string): Promise<boolean> {
    try {
      return (await sizeOf(join(this.root, `${accountId}.log`))) !== null;
    } catch (e) {
      throw unavailable(`looking for the signal log of ${accountId}`, e);
    }
  }

  async publish(signal: Signal): Promise<void> {
    const topic = await this.files(signal.account_id, { create: false });
    try {
      await topic.published.append(JSON.stringify(signal));
    } catch (e) {
      throw unavailable(`writing signal ${signal.signal_id} of ${signal.account_id} ahead`, e);
    }
    topic.unsettled.add(signal.signal_id);
    topic.lines += 1;
    await this.memory.publish(signal);
  }

  async subscribe(accountId: string, onDelivery: (delivery: Delivery) => void): Promise<() => Promise<void>> {
    const topic = await this.files(accountId, { create: false });
    return this.memory.subscribe(accountId, (delivery) =>
      onDelivery({ ...delivery, ack: () => this.ack(accountId, topic, delivery) }),
    );
  }

  /** Closes the files; the topics stay on disk for the next process. */
  async close(): Promise<void> {
    const topics = [...this.topics.values()];
    this.topics.clear();
    await Promise.all(topics.map(async (t) => (await t.catch(() => null))?.close()));
  }

  private ack(accountId: string, topic: TopicFiles, delivery: Delivery): void {
    delivery.ack();
    const id = delivery.signal.signal_id;
    if (!topic.unsettled.delete(id)) return;
    void topic.acked.append(id).then(
      () => this.compactIfSettled(accountId, topic),
      // Not written: the signal comes back after a restart, and is answered as a duplicate.
      () => undefined,
    );
  }

  private async compactIfSettled(accountId: string, topic: TopicFiles): Promise<void> {
    if (topic.unsettled.size > 0 || topic.lines < COMPACT_AFTER) return;
    await this.mutex
      .run(accountId, async () => {
        // Checked again in turn: a publish may have come in meanwhile.
        if (topic.unsettled.size > 0 || this.topics.get(accountId) === undefined) return;
        topic.lines = 0;
        // The log first: a crash between the two leaves acks of signals no longer in the log.
        await topic.published.truncate();
        await topic.acked.truncate();
      })
      .catch(() => undefined);
  }

  /**
   * The tenant's topic files, opened once per process: the first use loads what a previous
   * process left unsettled and hands it to the in-memory topic ahead of anything new. Without
   * `create`, a topic that exists neither here nor on disk is refused, as Pub/Sub would.
   */
  private files(accountId: string, options: { create: boolean }): Promise<TopicFiles> {
    checkAccountId(accountId);
    let topic = this.topics.get(accountId);
    if (!topic) {
      topic = this.mutex.run(accountId, () => this.openTopic(accountId, options.create));
      this.topics.set(accountId, topic);
      topic.catch(() => this.topics.delete(accountId));
    }
    return topic;
  }

  private async openTopic(accountId: string, create: boolean): Promise<TopicFiles> {
    if (!create && !(await this.onDisk(accountId)))
      throw new Error(`topic tenants.${accountId}.signals does not exist`);
    const topic = new TopicFiles(this.root, accountId);
    let pending: Signal[];
    try {
      await mkdir(this.root, { recursive: true });
      pending = await topic.load();
      // Created durably, so that topicExists after a crash says what createTopic said.
      await topic.published.create();
      await fsyncDirectory(this.root);
    } catch (e) {
      throw unavailable(`opening the signal log of ${accountId}`, e);
    }
    await this.memory.createTopic(accountId);
    for (const signal of pending) await this.memory.publish(signal);
    return topic;
  }
}
