// The cancel script's fences, driven directly: a batch cancelled before its deadline is fenced off (its
// own copy arriving later is a no-op, a later attempt may run), and the fence goes with a cancel after it.
// What a batch ran is undone exactly: the operations it refused stay undone, the ones it applied go.
import type { ChargeRequest } from '@spendguard/core/adapter';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeOps, keysAt } from './batch.js';
import { cancelRequest } from './in-doubt.js';
import { keysFor } from './keys.js';
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
const spend = (callId: string, amount = 5_000_000): ChargeRequest => ({ kind: 'spend', callId, instances: [ref], amount, now: 0 });

let n = 0;
async function scripts() {
  const client = await pool.open();
  const names = defineScripts(client);
  const keys = keysFor(`${RUN_ID}-cancel-${n++}`);
  const session = keys.session('test');
  const call = (script: ScriptName, keyList: Array<string | Buffer>, args: Array<string | number | Buffer>) =>
    (client as unknown as Record<string, (...a: unknown[]) => Promise<unknown[]>>)[names[script]]?.(
      keyList.length,
      ...keyList,
      ...args,
    ) as Promise<unknown[]>;
  const now = Number((await call('clock', [session], [60_000]))[0]);
  /** One batch attempt of some spends: its reply (`{ now, 1, result… }`, or `{ now, 2, known }` when late). */
  const batch = (attempt: string, deadline: number, reqs: ChargeRequest[]) => {
    const ops = reqs.map((req) => ({ kind: 'charge' as const, req }));
    const encoded = encodeOps(ops, keysAt(0));
    return call(
      'batch',
      [keys.limits, keys.holds, session, keys.leases, keys.feed],
      [keys.prefix, attempt, deadline, 0, 86_400_000, 86_400_000, encoded.refs, encoded.ops, 86_400_000, 0],
    );
  };
  const cancel = async (attempt: string, deadline: number, reqs: ChargeRequest[]) => {
    const ops = reqs.map((r) => ({ kind: 'charge' as const, callId: r.callId, amount: r.amount, reserve: false, refs: r.instances }));
    const request = cancelRequest(session, keys.holds, [{ attempt, deadline, ops }]);
    return (await call('cancel', request.keys, [keys.prefix, request.doubts, 86_400_000]))[1];
  };
  const used = async () => Number((await client.hget(keys.totals(ref.name, ref.period) as string, 'u')) ?? 0);
  const entry = (attempt: string) => client.hget(session as string, attempt);
  return { now, batch, cancel, used, entry };
}

describe('lua/cancel.lua fences', () => {
  it('a batch that never ran, cancelled before its deadline: its copy is a no-op, a later attempt runs, the fence goes', async () => {
    const { now, batch, cancel, used, entry } = await scripts();
    const deadline = now + 300;
    expect(await cancel('1', deadline, [spend('sp_a')])).toBe('fenced');
    expect((await batch('1', deadline, [spend('sp_a')])).slice(1)).toEqual([2, 1]); // arrives late: nothing
    expect(await used()).toBe(0);
    expect((await batch('2', now + 60_000, [spend('sp_a', 20_000_000)]))[2]).toBe(0); // a refused later attempt keeps the fence
    expect(await entry('1')).toBe('!1');
    expect((await batch('3', now + 60_000, [spend('sp_a')]))[2]).toBe(1); // the journal replay runs
    expect(await used()).toBe(5_000_000);
    await sleep(350);
    expect(await cancel('1', deadline, [spend('sp_a')])).toBe('absent'); // after the deadline: the fence goes
    expect(await entry('1')).toBeNull();
    expect(await entry('3')).toBe('1,');
  });

  it('a batch that ran, cancelled before its deadline, is undone once and fenced; a cancel after the deadline removes the fence', async () => {
    const { now, batch, cancel, used, entry } = await scripts();
    const before = await used();
    const deadline = now + 300;
    expect((await batch('1', deadline, [spend('sp_b')]))[2]).toBe(1);
    expect(await cancel('1', deadline, [spend('sp_b')])).toBe('fenced');
    expect(await cancel('1', deadline, [spend('sp_b')])).toBe('fenced'); // safe to run twice
    expect(await used()).toBe(before);
    expect((await batch('1', deadline, [spend('sp_b')])).slice(1)).toEqual([2, 1]);
    await sleep(350);
    expect(await cancel('1', deadline, [spend('sp_b')])).toBe('absent');
    expect(await entry('1')).toBeNull();
    expect(await used()).toBe(before);
  });

  it('undoes exactly the operations of a batch that applied: a refused one in the middle stays as it was', async () => {
    const { now, batch, cancel, used, entry } = await scripts();
    const reqs = [spend('sp_c'), spend('sp_d', 8_000_000), spend('sp_e')]; // limit 12: 5 fits, 5 + 8 does not, 5 + 5 does
    const reply = await batch('1', now + 60_000, reqs);
    // Each result: status, then per ref 1 and six totals. Applied; refused (at 0, limit_exceeded); applied.
    expect([reply[2], reply[10], reply[11], reply[12], reply[20]]).toEqual([1, 0, 0, 0, 1]);
    expect(await used()).toBe(10_000_000);
    expect(await entry('1')).toBe('1,0,1,');
    expect(await cancel('1', now + 60_000, reqs)).toBe('fenced');
    expect(await used()).toBe(0);
    expect((await batch('1', now + 60_000, reqs)).slice(1)).toEqual([2, 1]); // the resend is a no-op
    expect(await used()).toBe(0);
  });
});
