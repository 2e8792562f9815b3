import { deleteGroup } from '../delete-group';

/** What kafkajs's deleteGroups throws: a `KafkaJSDeleteGroupsError` with the per-group errors. */
function groupsError(type: string, retriable: boolean): Error {
  return Object.assign(new Error('Error in DeleteGroups'), {
    name: 'KafkaJSDeleteGroupsError',
    groups: [{ groupId: 'g', errorCode: 1, error: { type, retriable } }],
  });
}

/** A fake admin whose deleteGroups fails with `failures` in turn, then succeeds. */
function admin(...failures: Error[]) {
  const calls: string[][] = [];
  return {
    calls,
    deleteGroups: (ids: string[]) => {
      calls.push(ids);
      const failure = failures.shift();
      return failure ? Promise.reject(failure) : Promise.resolve([]);
    },
  };
}

const noSleep = { sleep: () => Promise.resolve() };

describe('deleteGroup', () => {
  it('asks again while the coordinator is loading (a fresh or restarted broker), then deletes', async () => {
    // What a broker that has just started answers to the first group request.
    const a = admin(
      groupsError('GROUP_LOAD_IN_PROGRESS', true),
      groupsError('GROUP_COORDINATOR_NOT_AVAILABLE', true),
      Object.assign(new Error('not the coordinator'), { type: 'NOT_COORDINATOR_FOR_GROUP' }),
    );
    await deleteGroup(a, 'g', noSleep);
    expect(a.calls).toEqual([['g'], ['g'], ['g'], ['g']]);
  });

  it('a group that never existed, or that another worker is still in, is not an error', async () => {
    for (const type of ['GROUP_ID_NOT_FOUND', 'NON_EMPTY_GROUP']) {
      const a = admin(groupsError(type, false));
      await deleteGroup(a, 'g', noSleep);
      expect(a.calls).toHaveLength(1);
    }
  });

  it('anything else is thrown at once', async () => {
    const denied = groupsError('GROUP_AUTHORIZATION_FAILED', false);
    const a = admin(denied);
    await expect(deleteGroup(a, 'g', noSleep)).rejects.toBe(denied);
    expect(a.calls).toHaveLength(1);
    const b = admin(new Error('Connection timeout'));
    await expect(deleteGroup(b, 'g', noSleep)).rejects.toThrow('Connection timeout');
  });

  it('a coordinator that never gets ready: the last error is thrown once the wait is over, with backoff', async () => {
    const loading = groupsError('GROUP_LOAD_IN_PROGRESS', true);
    const a = {
      calls: 0,
      deleteGroups() {
        a.calls += 1;
        return Promise.reject(loading);
      },
    };
    const slept: number[] = [];
    await expect(
      deleteGroup(a, 'g', {
        waitMs: 250,
        sleep: (ms) => {
          slept.push(ms);
          return new Promise((r) => setTimeout(r, ms));
        },
      }),
    ).rejects.toBe(loading);
    expect(slept).toEqual([100]);
    expect(a.calls).toBe(2);
  });
});
