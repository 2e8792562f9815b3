import { AlertSeverity, ControlMessage, ControlSubscriberId, EntitlementEvent, Signal } from '../index';

const signal = {
  signal_id: 'sig-1',
  account_id: 'acme',
  type: 'action',
  action_kind: 'noop',
  params: { n: 1, nested: { ok: true } },
  concurrency: 3,
  correlation_id: 'corr-1',
  published_at: 1_700_000_000_000,
};

const entitlement = {
  kind: 'entitlement',
  event: {
    type: 'entitlement.created',
    entitlement_id: 'ent-1',
    account_id: 'acme',
    sku_id: 'sku-basic',
    plan_type: 'basic',
    region: 'us-central1',
    occurred_at: '2026-01-02T03:04:05.678Z',
  },
  correlation_id: 'corr-1',
};

function issuePaths(result: { success: boolean; error?: { issues: Array<{ path: PropertyKey[] }> } }) {
  return (result.error?.issues ?? []).map((i) => i.path.join('.'));
}

describe('Signal', () => {
  it('accepts a full signal and a minimal one, unchanged', () => {
    expect(Signal.parse(signal)).toEqual(signal);
    const minimal = { signal_id: 's', account_id: 'acme', type: 'scale', published_at: 0 };
    expect(Signal.parse(minimal)).toEqual(minimal);
  });

  it.each([
    ['signal_id', ''],
    ['signal_id', 'x'.repeat(129)],
    ['account_id', 'Acme'],
    ['account_id', 'ab'],
    ['type', 'other'],
    ['action_kind', ''],
    ['params', 'not a record'],
    ['concurrency', 0],
    ['concurrency', 1.5],
    ['correlation_id', ''],
    ['published_at', -1],
    ['published_at', '1700000000000'],
  ])('rejects %s = %j, naming the field', (field, value) => {
    const result = Signal.safeParse({ ...signal, [field]: value });
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(field);
  });

  it('rejects unknown fields, missing required ones and explicit undefined', () => {
    expect(Signal.safeParse({ ...signal, extra: 1 }).success).toBe(false);
    for (const field of ['signal_id', 'account_id', 'type', 'published_at']) {
      const rest: Record<string, unknown> = { ...signal };
      delete rest[field];
      expect(issuePaths(Signal.safeParse(rest))).toContain(field);
    }
    expect(Signal.safeParse({ ...signal, action_kind: undefined }).success).toBe(false);
  });

  it('round-trips through JSON, as it travels', () => {
    expect(Signal.parse(JSON.parse(JSON.stringify(signal)))).toEqual(signal);
  });
});

describe('ControlMessage', () => {
  it('accepts entitlement and policy messages, unchanged', () => {
    expect(ControlMessage.parse(entitlement)).toEqual(entitlement);
    const cancelled = {
      kind: 'entitlement',
      event: {
        ...entitlement.event,
        type: 'entitlement.cancelled',
        cancellation_reason: 'customer asked',
        occurred_at: '2026-01-02T03:04:05+02:00',
      },
    };
    expect(ControlMessage.parse(cancelled)).toEqual(cancelled);
    const policy = { kind: 'policy', policy: { any: ['shape'] }, force: true, forced_by: 'ops' };
    expect(ControlMessage.parse(policy)).toEqual(policy);
  });

  it('rejects an unknown kind with a message that lists the kinds', () => {
    const result = ControlMessage.safeParse({ kind: 'reboot' });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('kind must be "entitlement" or "policy"');
  });

  it.each([
    ['event.account_id', { ...entitlement, event: { ...entitlement.event, account_id: 'A!' } }],
    ['event.type', { ...entitlement, event: { ...entitlement.event, type: 'entitlement.paused' } }],
    ['event.plan_type', { ...entitlement, event: { ...entitlement.event, plan_type: '../etc' } }],
    ['event.occurred_at', { ...entitlement, event: { ...entitlement.event, occurred_at: 'yesterday' } }],
    ['event', { ...entitlement, event: { ...entitlement.event, extra: 1 } }],
    ['policy', { kind: 'policy', force: false }],
    ['force', { kind: 'policy', policy: {} }],
    ['', { ...entitlement, extra: 1 }],
  ])('rejects a message with a bad field "%s" (empty: the message itself)', (path, message) => {
    const result = ControlMessage.safeParse(message);
    expect(result.success).toBe(false);
    expect(issuePaths(result)).toContain(path);
  });
});

describe('EntitlementEvent', () => {
  it('is the event a control message carries, parsed alone the same way', () => {
    expect(EntitlementEvent.parse(entitlement.event)).toEqual(entitlement.event);
    expect(EntitlementEvent.safeParse({ ...entitlement.event, plan_type: 'Basic' }).success).toBe(false);
  });
});

describe('AlertSeverity', () => {
  it('is warning or critical, nothing else', () => {
    expect(AlertSeverity.options).toEqual(['warning', 'critical']);
    expect(AlertSeverity.safeParse('info').success).toBe(false);
  });
});

describe('ControlSubscriberId', () => {
  it('accepts ids that can name a subscription and rejects the rest', () => {
    for (const id of ['w', 'worker-1', '0abc', 'a'.repeat(63)])
      expect(ControlSubscriberId.safeParse(id).success).toBe(true);
    for (const id of ['', '-w', 'Worker', 'w_1', 'w.1', 'a'.repeat(64)]) {
      expect(ControlSubscriberId.safeParse(id).success).toBe(false);
    }
  });
});
