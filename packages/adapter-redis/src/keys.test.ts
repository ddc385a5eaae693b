// Key construction is injective for every JavaScript string, and the Lua scripts name keys exactly as keys.ts does.
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { keysFor, luaKeyFunctions } from './keys.js';
import { redisAdapter } from './redis-adapter.js';
import { ClientPool, RUN_ID } from './test-support/test-redis.js';

const pool = new ClientPool();
afterAll(() => pool.cleanup());

const bytes = (k: string | Buffer) => (typeof k === 'string' ? Buffer.from(k, 'utf8') : k).toString('hex');
/** Sequences of UTF-16 code units, lone and paired surrogates and U+FFFD (what UTF-8 puts in their place) included. */
const UNITS = [0x61, 0x3a, 0xd800, 0xdbff, 0xdc00, 0xdfff, 0xfffd, 0xd83d, 0xde00];
const anyString = fc.array(fc.constantFrom(...UNITS), { maxLength: 5 }).map((units) => String.fromCharCode(...units));
const ref = {
  name: 'monthly',
  rule: 'monthly',
  period: '2026-11',
  day: '2026-11-10',
  periodEnd: 0,
  limit: 100_000_000,
  limitKeys: [],
  hard: true,
};

describe('redis keys', () => {
  it('two different idempotency keys never name one Redis key, lone surrogates included', () => {
    const keys = keysFor('p');
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        fc.pre(a !== b);
        expect(bytes(keys.idempotency(a))).not.toBe(bytes(keys.idempotency(b)));
        expect(bytes(keys.reservation(a))).not.toBe(bytes(keys.reservation(b)));
      }),
      { numRuns: 2000 },
    );
    // Well-formed strings keep their plain UTF-8 names (existing keys stay where they are).
    expect(keys.idempotency('clé')).toBe('{p}:k:clé');
  });

  it('a key with a lone surrogate is not taken for another key that UTF-8 would encode alike', async () => {
    const store = redisAdapter({ client: await pool.open(), prefix: `${RUN_ID}-keys` });
    const charge = (callId: string, idempotencyKey: string) =>
      store.charge({ kind: 'spend', callId, instances: [ref], amount: 1_000_000, now: Date.now(), idempotencyKey });
    const first = await charge('sp_1', 'x\uD800');
    const second = await charge('sp_2', 'x\uDBFF');
    const third = await charge('sp_3', 'x\uFFFD');
    expect([first, second, third].map((o) => o.ok && o.replayed)).toEqual([false, false, false]);
    expect(third.ok && third.totals[0]?.used).toBe(3_000_000);
    expect(await charge('sp_4', 'x\uDBFF')).toMatchObject({ ok: true, replayed: true, callId: 'sp_2' });
  });

  it('the scripts name keys exactly as keys.ts does (one layout, generated into the Lua)', async () => {
    const client = await pool.open();
    const keys = keysFor('p');
    const lua = `${luaKeyFunctions()}
return { key_limits(ARGV[1]), key_limits_version(ARGV[1]), key_holds(ARGV[1]), key_session(ARGV[1], ARGV[2]),
  key_instances(ARGV[1], ARGV[2]), key_latest_period(ARGV[1], ARGV[2]), key_idempotency(ARGV[1], ARGV[2]),
  key_reservation(ARGV[1], ARGV[2]), key_totals(ARGV[1], ARGV[2], ARGV[3]), key_grants(ARGV[1]), key_grants_due(ARGV[1]) }`;
    const [a, b] = ['project:a%2Cb', '2026-11'];
    const fromLua = (await client.call('EVAL', lua, 0, keys.prefix, a, b)) as string[];
    const fromTs = [keys.limits, keys.limitsVersion, keys.holds, keys.session(a), keys.instances(a), keys.latestPeriod(a)];
    fromTs.push(keys.idempotency(a), keys.reservation(a), keys.totals(a, b), keys.grants, keys.grantsDue);
    expect(fromLua).toEqual(fromTs.map((x) => x.toString()));
  });
});
