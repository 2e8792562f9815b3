import { decodeSignal } from '../decode';

const signal = {
  signal_id: 'acme-s1',
  account_id: 'acme',
  type: 'action',
  action_kind: 'noop',
  params: { n: 1 },
  published_at: 1,
};

describe('decodeSignal', () => {
  it('decodes a signal of the topic tenant', () => {
    expect(decodeSignal(Buffer.from(JSON.stringify(signal)), 'acme')).toEqual({ ok: true, value: signal });
  });

  it.each([
    ['a tombstone', null, 'not_json'],
    ['bytes that are not JSON', Buffer.from('not json {'), 'not_json'],
    [
      'a message the schema refuses',
      Buffer.from(JSON.stringify({ ...signal, type: 'reboot' })),
      'invalid_message',
    ],
    ['an unknown field', Buffer.from(JSON.stringify({ ...signal, extra: 1 })), 'invalid_message'],
    [
      'another tenant signal',
      Buffer.from(JSON.stringify({ ...signal, account_id: 'globex' })),
      'wrong_account',
    ],
  ])('refuses %s with a reason and a detail', (_what, value, reason) => {
    const decoded = decodeSignal(value, 'acme');
    expect(decoded).toMatchObject({ ok: false, reason });
    expect(decoded.ok ? '' : decoded.detail.length).toBeGreaterThan(0);
  });
});
