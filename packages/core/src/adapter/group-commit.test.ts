// Group commit over a fake store whose transactions roll back: grouping, order, own results, failures.
import { describe, expect, it } from 'vitest';
import { type Atomic, groupCommit } from './group-commit.js';

/** A store of appended values whose `atomic` undoes a body's appends when the body throws. */
function fakeStore(failBegin = () => false) {
  const committed: string[] = [];
  const transactions: string[][] = [];
  const atomic: Atomic = <T>(body: () => T): T => {
    if (failBegin()) throw new Error('locked');
    const mark = committed.length;
    try {
      const out = body();
      transactions.push(committed.slice(mark));
      return out;
    } catch (err) {
      committed.length = mark;
      throw err;
    }
  };
  return { committed, transactions, atomic };
}

const settle = <T>(p: Promise<T>) =>
  p.then(
    (value) => ({ value }),
    (error: Error) => ({ error: error.message }),
  );

describe('groupCommit', () => {
  it('runs the steps of one tick in one transaction, in order, each with its own result', async () => {
    const store = fakeStore();
    const group = groupCommit(store.atomic, 256);
    const results = await Promise.all(
      ['a', 'b', 'c'].map((v) =>
        group.run(() => {
          store.committed.push(v);
          return store.committed.length;
        }),
      ),
    );
    expect(results).toEqual([1, 2, 3]);
    expect(store.transactions).toEqual([['a', 'b', 'c']]);
  });

  it('steps of a later tick get a transaction of their own', async () => {
    const store = fakeStore();
    const group = groupCommit(store.atomic, 256);
    await group.run(() => store.committed.push('a'));
    await group.run(() => store.committed.push('b'));
    expect(store.transactions).toEqual([['a'], ['b']]);
  });

  it('puts at most maxSteps steps in one transaction', async () => {
    const store = fakeStore();
    const group = groupCommit(store.atomic, 2);
    await Promise.all(['a', 'b', 'c', 'd', 'e'].map((v) => group.run(() => store.committed.push(v))));
    expect(store.transactions).toEqual([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('a step that throws fails alone: its writes and the first attempt are rolled back, the others land once, in order', async () => {
    const store = fakeStore();
    const group = groupCommit(store.atomic, 256);
    const step = (v: string, bug = false) =>
      group.run(() => {
        store.committed.push(v);
        if (bug) throw new Error(`bug in ${v}`);
        return v;
      });
    const results = await Promise.all([settle(step('a')), settle(step('b', true)), settle(step('c')), settle(step('d', true))]);
    expect(results).toEqual([{ value: 'a' }, { error: 'bug in b' }, { value: 'c' }, { error: 'bug in d' }]);
    expect(store.committed).toEqual(['a', 'c']);
    expect(store.transactions).toEqual([['a', 'c']]);
  });

  it('when the transaction itself fails, every step of the group fails and nothing is recorded', async () => {
    let locked = true;
    const store = fakeStore(() => locked);
    const group = groupCommit(store.atomic, 256);
    const results = await Promise.all(['a', 'b'].map((v) => settle(group.run(() => store.committed.push(v)))));
    expect(results).toEqual([{ error: 'locked' }, { error: 'locked' }]);
    expect(store.committed).toEqual([]);
    locked = false;
    await group.run(() => store.committed.push('c'));
    expect(store.committed).toEqual(['c']);
  });

  it('flush() runs the queued steps at once', () => {
    const store = fakeStore();
    const group = groupCommit(store.atomic, 256);
    void group.run(() => store.committed.push('a'));
    void group.run(() => store.committed.push('b'));
    expect(store.committed).toEqual([]);
    group.flush();
    expect(store.transactions).toEqual([['a', 'b']]);
  });

  it('refuses a bound that would never take a step', () => {
    expect(() => groupCommit(fakeStore().atomic, 0)).toThrow(RangeError);
  });
});
