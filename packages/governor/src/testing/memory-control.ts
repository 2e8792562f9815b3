import { ControlMessage, ControlSubscriberId } from '@governor/contracts';
import { GovernorError } from '../errors';
import { systemClock } from '../clock';
import type { Clock, ControlChannel } from '../ports';

type OnMessage = (message: ControlMessage, settle: { ack(): void; nack(): void }) => void;

/** One subscribe call, until its stop. */
interface Session {
  readonly handler: OnMessage;
  /** Handed out and not yet settled, in delivery order: given back to the backlog on stop. */
  readonly unsettled: Array<{ message: ControlMessage; settled: boolean }>;
}

/** A worker's subscription: it outlives the worker's stop, keeping what arrives meanwhile. */
interface WorkerSubscription {
  session: Session | undefined;
  readonly backlog: ControlMessage[];
}

/**
 * The embedded default's control channel: an in-process broadcast to every worker that has
 * subscribed, in publish order, with redelivery of nacked messages after `redeliveryMs` (as
 * the Pub/Sub adapter's delayed nack). Messages are validated at publish, as on Pub/Sub.
 */
export class MemoryControl implements ControlChannel {
  private readonly workers = new Map<string, WorkerSubscription>();

  constructor(
    private readonly clock: Clock = systemClock,
    private readonly redeliveryMs = 200,
  ) {}

  publish(message: ControlMessage): Promise<void> {
    const parsed = ControlMessage.safeParse(message);
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
      return Promise.reject(
        invalidArgument(`control message is not valid and was not published: ${issues.join('; ')}`, {
          cause: parsed.error,
        }),
      );
    }
    // A copy, as a transport would hand out: a handler cannot change what others receive.
    const copy = structuredClone(parsed.data);
    for (const worker of this.workers.values()) this.deliver(worker, copy);
    return Promise.resolve();
  }

  subscribe(workerId: string, onMessage: OnMessage): Promise<() => Promise<void>> {
    const id = ControlSubscriberId.safeParse(workerId);
    if (!id.success) {
      return Promise.reject(
        invalidArgument(id.error.issues[0]?.message ?? 'invalid worker_id', { cause: id.error }),
      );
    }
    let worker = this.workers.get(workerId);
    if (!worker) {
      worker = { session: undefined, backlog: [] };
      this.workers.set(workerId, worker);
    }
    if (worker.session) {
      return Promise.reject(
        invalidArgument(
          `worker ${workerId} is already subscribed: stop its subscription before subscribing again`,
        ),
      );
    }
    const session: Session = { handler: onMessage, unsettled: [] };
    worker.session = session;
    for (const message of worker.backlog.splice(0)) this.deliver(worker, message);
    const subscribed = worker;
    return Promise.resolve(() => {
      if (subscribed.session === session) {
        subscribed.session = undefined;
        // As Pub/Sub's close nacks what is held: the next subscriber gets it, first.
        const held = session.unsettled.splice(0);
        for (const entry of held) entry.settled = true;
        subscribed.backlog.unshift(...held.map((entry) => entry.message));
      }
      return Promise.resolve();
    });
  }

  private deliver(worker: WorkerSubscription, message: ControlMessage): void {
    const session = worker.session;
    if (!session) {
      worker.backlog.push(message);
      return;
    }
    const entry = { message, settled: false };
    session.unsettled.push(entry);
    const first = () => {
      if (entry.settled) return false;
      entry.settled = true;
      session.unsettled.splice(session.unsettled.indexOf(entry), 1);
      return true;
    };
    session.handler(structuredClone(message), {
      ack: () => void first(),
      nack: () => {
        if (first()) this.clock.setTimeout(() => this.deliver(worker, message), this.redeliveryMs);
      },
    });
  }
}

/** What the channel throws for a message or subscriber it cannot take: final, never retried. */
function invalidArgument(message: string, options?: { cause?: unknown }): GovernorError {
  return new GovernorError('INVALID_ARGUMENT', message, false, options);
}
