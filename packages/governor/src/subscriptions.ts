import type { Policy } from '@governor/contracts';
import type { Accepted } from './tenant-governor';
import type { AlertSink, Delivery, SignalBus } from './ports';
import { flowControl } from './runbooks/scaling/flow-control';

/** A tenant's subscription and the flow control it was opened with. */
interface Subscription {
  readonly stop: () => Promise<void>;
  readonly maxOutstanding: number;
}

/**
 * The host's tenant subscriptions: one per served tenant, its flow control following the
 * tenant's policy, every delivery handed to `deliver`.
 */
export class Subscriptions {
  private readonly open = new Map<string, Subscription>();

  constructor(
    private readonly bus: SignalBus,
    private readonly alerts: AlertSink,
    private readonly deliver: (delivery: Delivery) => Accepted,
  ) {}

  /** Subscribes the tenant's governor to its topic with the flow control its policy asks for. */
  async subscribe(accountId: string, policy: Policy): Promise<void> {
    const options = flowControl(policy);
    const stop = await this.bus.subscribe(accountId, this.handler(), options);
    this.open.set(accountId, { stop, maxOutstanding: options.maxOutstanding });
  }

  /** A handler of its own for each subscription: stopping one never stops another by identity. */
  private handler(): (delivery: Delivery) => Accepted {
    return (delivery) => this.deliver(delivery);
  }

  /** Stops the tenant's subscription, if it has one. */
  async unsubscribe(accountId: string): Promise<void> {
    const subscription = this.open.get(accountId);
    this.open.delete(accountId);
    await subscription?.stop();
  }

  /** Stops every subscription, one after another. */
  async unsubscribeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const subscription of all) await subscription.stop();
  }

  /**
   * After a policy swap: the subscription's flow control follows the governor's policy. A
   * different one reopens the subscription, the new one first and then the old one stopped, so
   * the tenant is never without one; deliveries the old one still held come back through the
   * new one (a transport hands unsettled messages back on stop) and the action log runs each
   * action once. If the new one cannot be opened the old one stays, and that is alerted.
   */
  async follow(accountId: string, policy: Policy): Promise<void> {
    const current = this.open.get(accountId);
    const wanted = flowControl(policy);
    if (!current || current.maxOutstanding === wanted.maxOutstanding) return;
    let stop: () => Promise<void>;
    try {
      stop = await this.bus.subscribe(accountId, this.handler(), wanted);
    } catch (e) {
      this.alerts.alert({
        severity: 'warning',
        code: 'FLOW_CONTROL_NOT_UPDATED',
        message: `${accountId} keeps flow control ${current.maxOutstanding} (policy ${policy.policy_version} asks ${wanted.maxOutstanding}): ${(e as Error).message}`,
        account_id: accountId,
      });
      return;
    }
    try {
      // Stopped or decommissioned meanwhile: the new subscription is not wanted either.
      if (this.open.get(accountId) !== current) {
        await stop();
        return;
      }
      this.open.set(accountId, { stop, maxOutstanding: wanted.maxOutstanding });
      await current.stop();
    } catch (e) {
      this.alerts.alert({
        severity: 'warning',
        code: 'UNSUBSCRIBE_FAILED',
        message: `stopping a subscription of ${accountId} failed: ${(e as Error).message}`,
        account_id: accountId,
      });
    }
  }
}
