// The cancel script's fences, driven directly: a call cancelled before its deadline is fenced off (its
// own copy arriving later is a no-op, a later attempt may run), and the fence goes with a cancel after it.
import { afterAll, describe, expect, it } from 'vitest';
import { keysFor } from './keys.js';
import { encodeRef, encodeRefs } from './replies.js';
import { defineScripts, type ScriptName } from './scripts.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
afterAll(() => pool.cleanup());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ref = {
  name: 'monthly',
  rule: 'monthly',
  period: '2026-11',
  day: '2026-11-10',
  periodEnd: 0,
  limit: 12_000_000,
  limitKeys: [],
  hard: true,
};

async function scripts() {
  const client = await pool.open();
  const names = defineScripts(client);
  const keys = keysFor(`${RUN_ID}-cancel`);
  const session = keys.session('test');
  const call = (script: ScriptName, keyList: Array<string | Buffer>, args: Array<string | number>) =>
    (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown[]>>)[names[script]]?.(
      keyList.length,
      ...keyList,
      ...args,
    ) as Promise<unknown[]>;
  const now = Number((await call('clock', [session], [60_000]))[0]);
  const charge = (id: string, attempt: string, deadline: number, amount = 5_000_000) =>
    call(
      'charge',
      [keys.limits, keys.holds, session, session, keys.reservation(id)],
      [...encodeRefs([ref], [keys.prefix, 'spend', id, amount, 0, 0, 86_400_000, 0, 86_400_000]), attempt, deadline, 0],
    );
  const cancel = async (id: string, attempt: string, deadline: number) => {
    const doubt = { t: 'c', id, at: attempt, dl: deadline, a: 5_000_000, rv: 0, refs: [encodeRef(ref)], rk: 0, ik: 0 };
    return (await call('cancel', [session, keys.holds], [keys.prefix, JSON.stringify([doubt])]))[1];
  };
  const used = async () => Number((await client.hget(keys.totals(ref.name, ref.period) as string, 'u')) ?? 0);
  const entry = (id: string) => client.hget(session as string, id);
  return { now, charge, cancel, used, entry };
}

describe('lua/cancel.lua fences', () => {
  it('a call that never ran, cancelled before its deadline: its copy is a no-op, a later attempt runs, the fence goes', async () => {
    const { now, charge, cancel, used, entry } = await scripts();
    const deadline = now + 300;
    expect(await cancel('sp_a', '1', deadline)).toBe('fenced');
    expect((await charge('sp_a', '1', deadline)).slice(1)).toEqual([2, 1]); // arrives late: nothing
    expect(await used()).toBe(0);
    expect((await charge('sp_a', '2', now + 60_000, 20_000_000))[1]).toBe(0); // a refused later attempt keeps the fence
    expect(await entry('sp_a')).toBe('!1');
    expect((await charge('sp_a', '2', now + 60_000))[1]).toBe(1); // the journal replay runs
    expect(await used()).toBe(5_000_000);
    await sleep(350);
    expect(await cancel('sp_a', '1', deadline)).toBe('absent'); // after the deadline: not this attempt's entry
    expect(await entry('sp_a')).toBe('2');
  });

  it('a call that ran, cancelled before its deadline, is undone once and fenced; a cancel after the deadline removes the fence', async () => {
    const { now, charge, cancel, used, entry } = await scripts();
    const before = await used();
    const deadline = now + 300;
    expect((await charge('sp_b', '1', deadline))[1]).toBe(1);
    expect(await cancel('sp_b', '1', deadline)).toBe('fenced');
    expect(await cancel('sp_b', '1', deadline)).toBe('fenced'); // safe to run twice
    expect(await used()).toBe(before);
    expect((await charge('sp_b', '1', deadline)).slice(1)).toEqual([2, 1]);
    await sleep(350);
    expect(await cancel('sp_b', '1', deadline)).toBe('absent');
    expect(await entry('sp_b')).toBeNull();
    expect(await used()).toBe(before);
  });
});
