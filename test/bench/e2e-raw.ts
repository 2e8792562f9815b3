import type { Firestore } from '@google-cloud/firestore';
import type { Message, PubSub, Subscription, Topic } from '@google-cloud/pubsub';
import { tenantChain, type ReceiptFields, type StoredReceipt } from '@governor/contracts';
import { appendReceipt, emptyHead } from '@governor/receipts';
import {
  accountId,
  BENCH_KEY,
  coresBetween,
  n,
  noopSignal,
  note,
  perSecond,
  since,
  sleep,
  type CpuMeter,
} from './e2e-support';

/**
 * The PubSubBus's publisher and subscriber settings, copied (the package does not export them):
 * ordered topics batched 100 messages / 2 ms, one stream per subscription, acks sent every 10 ms,
 * flow control at the governor's maxOutstanding. The raw baseline differs from the bus only in
 * having no governor behind it.
 */
const PUBLISH_BATCHING = { maxMessages: 100, maxMilliseconds: 2 } as const;
const ACK_DEADLINE_SECONDS = 10;

export interface RawPubSubResult {
  readonly topics: number;
  readonly messages: number;
  readonly message_bytes: number;
  /** From the first publish to the last message received and acked. */
  readonly ms: number;
  readonly publish_ms: number;
  readonly rate: number;
  readonly redeliveries: number;
  readonly cores: Record<string, number | null>;
}

export interface RawTopics {
  readonly pubsub: PubSub;
  readonly accounts: readonly string[];
  readonly topics: readonly Topic[];
  readonly maxOutstanding: number;
}

const rawTopicName = (account: string) => `bench-raw.${account}.signals`;
const rawSubscriptionName = (account: string) => `${rawTopicName(account)}.consumer`;

/** Runs `fn` over `items`, at most `width` at a time. */
export async function inWindows<T>(
  items: readonly T[],
  width: number,
  fn: (item: T) => Promise<unknown>,
): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** One ordered topic + subscription per account, as PubSubBus.createTopic makes them. */
export async function createRawTopics(
  pubsub: PubSub,
  count: number,
  maxOutstanding: number,
): Promise<RawTopics> {
  const accounts = Array.from({ length: count }, (_, i) => accountId('r', i + 1));
  await inWindows(accounts, 20, async (account) => {
    const [topic] = await pubsub.createTopic(rawTopicName(account));
    await topic.createSubscription(rawSubscriptionName(account), {
      enableMessageOrdering: true,
      ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
    });
  });
  const topics = accounts.map((a) =>
    pubsub.topic(rawTopicName(a), { messageOrdering: true, batching: PUBLISH_BATCHING }),
  );
  return { pubsub, accounts, topics, maxOutstanding };
}

export async function deleteRawTopics(raw: RawTopics): Promise<void> {
  await inWindows(raw.accounts, 20, async (account) => {
    await raw.pubsub.subscription(rawSubscriptionName(account)).delete();
    await raw.pubsub.topic(rawTopicName(account)).delete();
  });
}

/** A signal's bytes, attributes and ordering key, exactly as PubSubBus.publish sends them. */
function publishRaw(raw: RawTopics, index: number, signalId: string): Promise<string> {
  const account = raw.accounts[index % raw.accounts.length] as string;
  const topic = raw.topics[index % raw.topics.length] as Topic;
  return topic.publishMessage({
    data: Buffer.from(JSON.stringify(noopSignal(signalId, account))),
    orderingKey: account,
    attributes: { signal_id: signalId },
  });
}

/**
 * Raw Pub/Sub: `messages` signal-sized messages published round-robin on the topics (all at
 * once, as the end-to-end phase submits them), each received by streaming pull and acked on
 * arrival. Timed from the first publish to the last message received; a warm-up message per
 * topic first opens every stream.
 */
export async function measureRawPubSub(
  raw: RawTopics,
  messages: number,
  label: string,
  cpu: CpuMeter,
): Promise<RawPubSubResult> {
  const seen = new Set<string>();
  let redeliveries = 0;
  let waiter: { target: number; resolve: () => void } | null = null;
  const onMessage = (message: Message): void => {
    const id = message.attributes.signal_id ?? message.id;
    if (seen.has(id)) redeliveries += 1;
    else seen.add(id);
    message.ack();
    if (waiter !== null && seen.size >= waiter.target) {
      waiter.resolve();
      waiter = null;
    }
  };
  const until = (target: number) =>
    seen.size >= target ? Promise.resolve() : new Promise<void>((resolve) => (waiter = { target, resolve }));
  const subscriptions: Subscription[] = raw.accounts.map((account) => {
    const s = raw.pubsub.subscription(rawSubscriptionName(account), {
      flowControl: { maxMessages: raw.maxOutstanding, allowExcessMessages: false },
      streamingOptions: { maxStreams: 1 },
      batching: { maxMilliseconds: 10 },
    });
    s.on('message', onMessage);
    s.on('error', (e: unknown) => note(`${label}: streaming pull error: ${String(e)}`));
    return s;
  });
  try {
    await Promise.all(raw.accounts.map((_, i) => publishRaw(raw, i, `${label}-warm-${i}`)));
    if (!(await watch(until(raw.accounts.length), () => seen.size, raw.accounts.length, `${label} warm-up`)))
      throw new Error(`${label}: raw Pub/Sub warm-up messages lost`);
    const target = raw.accounts.length + messages;
    const bytes = Buffer.byteLength(JSON.stringify(noopSignal(`${label}-${messages - 1}`, 'r-000001')));
    const before = cpu.read();
    const start = performance.now();
    const published: Promise<string>[] = [];
    for (let i = 0; i < messages; i++) published.push(publishRaw(raw, i, `${label}-${i}`));
    const publishing = Promise.all(published).then(() => since(start));
    if (!(await watch(until(target), () => seen.size - raw.accounts.length, messages, label)))
      throw new Error(`${label}: raw Pub/Sub lost messages (${n(seen.size)}/${n(target)} received)`);
    const ms = since(start);
    const cores = coresBetween(before, cpu.read(), ms);
    const publish_ms = await publishing;
    const rate = perSecond(messages, ms);
    note(`${label}: ${n(rate)} messages/s (${n(messages)} in ${(ms / 1000).toFixed(1)} s)`);
    return {
      topics: raw.accounts.length,
      messages,
      message_bytes: bytes,
      ms,
      publish_ms,
      rate,
      redeliveries,
      cores,
    };
  } finally {
    // close() flushes the acks still batched, so the next run starts on empty subscriptions.
    await Promise.all(subscriptions.map((s) => s.close()));
  }
}

/**
 * Waits for `done`, printing progress every 2 s. Gives up and resolves false when `count()` has
 * not moved for `stallMs` (a lost message would otherwise hang the bench).
 */
export async function watch(
  done: Promise<void>,
  count: () => number,
  total: number,
  label: string,
  stallMs = 30_000,
): Promise<boolean> {
  const start = performance.now();
  let last = -1;
  let lastMove = start;
  let finished = false;
  void done.then(
    () => (finished = true),
    () => (finished = true),
  );
  while (!finished) {
    await Promise.race([done, sleep(2_000)]);
    if (finished) break;
    const c = count();
    if (c !== last) {
      last = c;
      lastMove = performance.now();
    } else if (since(lastMove) > stallMs) {
      note(`${label}: stalled at ${n(c)}/${n(total)} for ${stallMs / 1000} s; giving up on the rest`);
      return false;
    }
    note(`${label}: ${n(c)}/${n(total)} (${(since(start) / 1000).toFixed(1)} s)`);
  }
  return true;
}

export interface RawFirestoreResult {
  readonly chains: number;
  readonly batch: number;
  readonly documents: number;
  readonly commits: number;
  /** Mean size of a document as sent: its fields' JSON. */
  readonly document_bytes: number;
  readonly ms: number;
  readonly rate: number;
  readonly commit_p50_ms: number;
  readonly cores: Record<string, number | null>;
}

/** The action_complete receipt of the bench's noop signals, for building documents of the same size. */
export function actionComplete(account: string, k: number): ReceiptFields {
  return {
    operation: 'action_complete',
    status: 'success',
    duration_ms: 0,
    account_id: account,
    action_id: `e-${k}-a0`,
    action_kind: 'noop',
    signal_id: `e-${k}`,
  };
}

/** Signed action_complete records, `perChain` for each of `chains` chains. */
function signedRecords(prefix: string, chains: number, perChain: number): StoredReceipt[][] {
  const out: StoredReceipt[][] = [];
  for (let c = 1; c <= chains; c++) {
    const account = accountId(prefix, c);
    let head = emptyHead(tenantChain(account));
    const records: StoredReceipt[] = [];
    for (let i = 0; i < perChain; i++) {
      const appended = appendReceipt(head, actionComplete(account, c * perChain + i), BENCH_KEY, {
        now: new Date(),
      });
      records.push(appended.record);
      head = appended.head;
    }
    out.push(records);
  }
  return out;
}

const seqId = (seq: number) => String(seq).padStart(20, '0');

/**
 * Raw Firestore: WriteBatch.create() of stored-receipt documents (the fields FirestoreLedger
 * writes: seq, body, leaf_hash, signature, key_id), `batch` per commit, on `chains` collections
 * at once with one commit in flight per collection (as the ChainWriter has per chain). No head
 * document, no precondition, no signing: what the ledger adds is the difference.
 */
export async function measureRawFirestore(
  db: Firestore,
  label: string,
  chains: number,
  perChain: number,
  batch: number,
  cpu: CpuMeter,
): Promise<RawFirestoreResult> {
  const records = signedRecords(label, chains, perChain);
  const docs = records.map((chain) =>
    chain.map((r, seq) => ({
      seq,
      body: r.body,
      leaf_hash: r.leaf_hash,
      signature: r.signature,
      key_id: r.key_id,
    })),
  );
  const documents = chains * perChain;
  const bytes = docs.flat().reduce((s, d) => s + Buffer.byteLength(JSON.stringify(d)), 0) / documents;
  const commitMs: number[] = [];
  let written = 0;
  const before = cpu.read();
  const start = performance.now();
  const all = Promise.all(
    docs.map(async (chain, c) => {
      const receipts = db.collection('bench-raw').doc(`${label}-${c}`).collection('receipts');
      for (let i = 0; i < chain.length; i += batch) {
        const wb = db.batch();
        for (const d of chain.slice(i, i + batch)) wb.create(receipts.doc(seqId(d.seq)), d);
        const t = performance.now();
        await wb.commit();
        commitMs.push(since(t));
        written += Math.min(batch, chain.length - i);
      }
    }),
  ).then(() => undefined);
  if (!(await watch(all, () => written, documents, label)))
    throw new Error(`${label}: raw Firestore commits stalled`);
  const ms = since(start);
  const cores = coresBetween(before, cpu.read(), ms);
  const rate = perSecond(documents, ms);
  commitMs.sort((a, b) => a - b);
  note(
    `${label}: ${n(rate)} documents/s in batches of ${batch} (${n(documents)} in ${(ms / 1000).toFixed(1)} s)`,
  );
  return {
    chains,
    batch,
    documents,
    commits: commitMs.length,
    document_bytes: bytes,
    ms,
    rate,
    commit_p50_ms: commitMs[Math.floor(commitMs.length / 2)] ?? 0,
    cores,
  };
}
