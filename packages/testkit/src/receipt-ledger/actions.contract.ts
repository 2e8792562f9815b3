import type { ActionLogEntry, LedgerEntry, ReceiptLedger } from '@governor/governor';
import { rejectionOf, sortedBy } from '../contract-helpers';
import { batch, expectLedgerError, TENANT, type LedgerContext } from './harness';

const OTHER = 'tenants/globex';

/** A running entry, as a write-ahead stores it. */
export function actionEntry(actionId: string, overrides: Partial<ActionLogEntry> = {}): ActionLogEntry {
  return {
    action_id: actionId,
    kind: 'noop',
    signal_id: `sig-${actionId}`,
    state: 'running',
    deadline_at: 1_795_000_000_000,
    recoverable: true,
    ...overrides,
  };
}

const byAction = (entries: readonly ActionLogEntry[]) => sortedBy(entries, (e) => e.action_id);

/** `entries` with the action log entries `actions` riding on the first ones, in order. */
function carrying(entries: readonly LedgerEntry[], actions: readonly ActionLogEntry[]): LedgerEntry[] {
  return entries.map((e, i) => (actions[i] ? { ...e, action: actions[i] } : e));
}

/**
 * The action log kept with each chain: the write-ahead (`startActions`), the final states that
 * ride in an append, and the reads reconcile and the monthly quota make.
 */
export function actionsContract(t: LedgerContext): void {
  /** The clients to check reads through: this one, and another client when the store has one. */
  async function readers(): Promise<ReceiptLedger[]> {
    return t.subject.peer ? [t.ledger, await t.subject.peer()] : [t.ledger];
  }

  it('a chain never written has no running actions and none started', async () => {
    expect(await t.ledger.runningActions(TENANT)).toEqual([]);
    expect(await t.ledger.actionsStartedSince(TENANT, 0)).toBe(0);
  });

  it('startActions creates only new action ids, in one call, and says which', async () => {
    const { ledger } = t;
    expect(await ledger.startActions(TENANT, [actionEntry('a1'), actionEntry('a2')])).toEqual([true, true]);
    // Known ids are not created again, whatever else the entry says; a repeat within the call neither.
    const again = [
      actionEntry('a1', { kind: 'webhook' }),
      actionEntry('a3'),
      actionEntry('a3', { deadline_at: 1 }),
      actionEntry('a2'),
    ];
    expect(await ledger.startActions(TENANT, again)).toEqual([false, true, false, false]);
    // Another chain has a log of its own.
    expect(await ledger.startActions(OTHER, [actionEntry('a1')])).toEqual([true]);
    for (const reader of await readers()) {
      expect(byAction(await reader.runningActions(TENANT))).toEqual([
        actionEntry('a1'),
        actionEntry('a2'),
        actionEntry('a3'),
      ]);
      expect(await reader.runningActions(OTHER)).toEqual([actionEntry('a1')]);
      expect(await reader.startActions(TENANT, [actionEntry('a1')])).toEqual([false]);
    }
  });

  it('an append stores the action entries it carries with its receipts: the final state wins', async () => {
    const { ledger } = t;
    await ledger.startActions(TENANT, [actionEntry('a1'), actionEntry('a2'), actionEntry('a3')]);
    const built = batch(TENANT, 4);
    const settled = [actionEntry('a1', { state: 'complete' }), actionEntry('a3', { state: 'rolled_back' })];
    await ledger.append(TENANT, carrying(built.entries, settled), built.head);
    for (const reader of await readers()) {
      expect(await reader.head(TENANT)).toEqual(built.head);
      expect(await reader.runningActions(TENANT)).toEqual([actionEntry('a2')]);
      // A finished action is not started again: that is what makes a redelivery run once.
      expect(await reader.startActions(TENANT, [actionEntry('a1'), actionEntry('a3')])).toEqual([
        false,
        false,
      ]);
    }
    // An append may also carry an entry never written ahead (an orphan reconciled from elsewhere).
    const next = batch(TENANT, 1, built.head);
    await ledger.append(
      TENANT,
      carrying(next.entries, [actionEntry('a9', { state: 'escalated' })]),
      next.head,
    );
    expect(await ledger.startActions(TENANT, [actionEntry('a9')])).toEqual([false]);
  });

  it('an append that is refused stores none of the action entries it carries', async () => {
    const { ledger } = t;
    await ledger.startActions(TENANT, [actionEntry('a1')]);
    const { head } = await t.store(TENANT, 2);
    // A batch from seq 0 again: a conflict with what is stored.
    const stale = batch(TENANT, 1);
    const error = await rejectionOf(
      ledger.append(TENANT, carrying(stale.entries, [actionEntry('a1', { state: 'complete' })]), stale.head),
    );
    expectLedgerError(error, 'LEDGER_CONFLICT', false);
    for (const reader of await readers()) {
      expect(await reader.head(TENANT)).toEqual(head);
      expect(await reader.runningActions(TENANT)).toEqual([actionEntry('a1')]);
    }
  });

  it('an append fenced by a newer claim stores none of the action entries it carries', async () => {
    const { peer } = t.subject;
    if (!peer)
      throw new Error(`${t.name}: the action log contract needs peer() (another client of the store)`);
    const old = t.ledger;
    const newer = await peer();
    await old.claim(TENANT, 1);
    await old.startActions(TENANT, [actionEntry('a1')]);
    await newer.claim(TENANT, 2);
    const built = batch(TENANT, 1);
    const error = await rejectionOf(
      old.append(TENANT, carrying(built.entries, [actionEntry('a1', { state: 'complete' })]), built.head),
    );
    expectLedgerError(error, 'LEDGER_FENCED', false);
    expect(await newer.runningActions(TENANT)).toEqual([actionEntry('a1')]);
  });

  it('putActions replaces entries: the latest write wins, in either direction', async () => {
    const { ledger } = t;
    await ledger.putActions(TENANT, [
      actionEntry('a1'),
      actionEntry('a2'),
      actionEntry('a3', { state: 'complete' }),
    ]);
    const rearmed = actionEntry('a3', { deadline_at: 1_795_000_009_000, recoverable: false });
    await ledger.putActions(TENANT, [actionEntry('a1', { state: 'rolled_back' }), rearmed]);
    for (const reader of await readers())
      expect(byAction(await reader.runningActions(TENANT))).toEqual([actionEntry('a2'), rearmed]);
  });

  it('keeps every field of an entry, and action ids of any characters', async () => {
    const odd = [
      actionEntry('sig-1-a0', { kind: 'webhook', deadline_at: 1_795_000_000_123, recoverable: false }),
      actionEntry('3f2a9c4e-7b1d-4e8a-9f00-1c2d3e4f5a6b-a12', {
        started_at: 1_795_000_000_000,
        started_seq: 7,
      }),
      // A signal id is any non-empty string, and an action id is built from it.
      actionEntry('with/slash and space:colon-a0'),
      actionEntry('../../etc/passwd-a1'),
      actionEntry('Ünïcødé-✓-a2'),
      actionEntry('dots.and_underscores.-a0'),
    ];
    expect(await t.ledger.startActions(TENANT, odd)).toEqual(odd.map(() => true));
    for (const reader of await readers())
      expect(byAction(await reader.runningActions(TENANT))).toEqual(byAction(odd));
  });

  it('actionsStartedSince counts the entries started at or after a time, whatever their state, per chain', async () => {
    const { ledger } = t;
    const month = Date.parse('2026-12-01T00:00:00.000Z');
    await ledger.startActions(TENANT, [
      actionEntry('before', { started_at: month - 1 }),
      actionEntry('at', { started_at: month }),
      actionEntry('after', { started_at: month + 5_000 }),
    ]);
    await ledger.putActions(TENANT, [actionEntry('legacy')]);
    await ledger.startActions(OTHER, [actionEntry('other', { started_at: month + 1 })]);
    // A later write of an entry (its outcome) keeps its start.
    const built = batch(TENANT, 1);
    await ledger.append(
      TENANT,
      carrying(built.entries, [actionEntry('at', { started_at: month, state: 'rolled_back' })]),
      built.head,
    );
    for (const reader of await readers()) {
      expect(await reader.actionsStartedSince(TENANT, month)).toBe(2);
      expect(await reader.actionsStartedSince(TENANT, month - 1)).toBe(3);
      expect(await reader.actionsStartedSince(OTHER, month)).toBe(1);
      expect(await reader.actionsStartedSince('tenants/initech', month)).toBe(0);
    }
  });

  it('of racing startActions of one action id exactly one creates it', async () => {
    const clients = await readers();
    const started = await Promise.all(
      Array.from({ length: 6 }, (_, i) =>
        (clients[i % clients.length] ?? t.ledger).startActions(TENANT, [
          actionEntry(`own-${i}`),
          actionEntry('race', { deadline_at: i }),
        ]),
      ),
    );
    expect(started.map((s) => s[0])).toEqual(started.map(() => true));
    const winners = started.flatMap((s, i) => (s[1] ? [i] : []));
    expect(winners).toHaveLength(1);
    const running = await t.ledger.runningActions(TENANT);
    expect(running.filter((e) => e.action_id === 'race')).toEqual([
      actionEntry('race', { deadline_at: winners[0] ?? -1 }),
    ]);
    expect(running).toHaveLength(7);
  });
}
