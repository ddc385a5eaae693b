// redisAdapter(): budgets in Redis (single node or Cluster) shared by many machines. Every operation
// that changes totals is one Lua script call: one round trip, atomic in the server.
import { SpendGuardError } from '@spendguard/core';
import type {
  ChargeOutcome,
  ChargeRequest,
  HistoryRequest,
  InstancePage,
  InstancePageRequest,
  InstanceRef,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
  StoreSettings,
} from '@spendguard/core/adapter';
import type { Cluster, Redis } from 'ioredis';
import { type KeyName, keysFor } from './keys.js';
import { decodeStoredRef, decodeTotals, encodeRefs } from './replies.js';
import { defineScripts, type ScriptName } from './scripts.js';

export interface RedisAdapterOptions {
  /** An ioredis `Redis` or `Cluster` client that the caller owns (and closes). */
  client: Redis | Cluster;
  /** Namespace of every key, used as the hash tag: `{prefix}:…`. Default 'spendguard'. */
  prefix?: string;
  /** A call that gets no answer within this time fails with STORE_UNAVAILABLE (ms). Default 2000. */
  commandTimeoutMs?: number;
  /** How long a period's totals stay readable after the period ends (ms). Default 2 years. */
  historyRetentionMs?: number;
  /**
   * How long each call's id is remembered so that the same call sent again (a client's resend after
   * a lost reply, a journal replay) counts once (ms). Default 60 000. Longer costs Redis memory:
   * one small key per call for this long.
   */
  resendWindowMs?: number;
}

const DOWN = new Set(['end', 'close', 'reconnecting']);
/** How long a hold that a read or a limit change found expired stays for a late commit (ms). */
const EXPIRED_HOLD_RETENTION_MS = 86_400_000;
type Reply = unknown[];

export function redisAdapter(options: RedisAdapterOptions): StorageAdapter {
  const client = options?.client;
  if (!client || typeof (client as Redis).defineCommand !== 'function') {
    throw new SpendGuardError('INVALID_CONFIG', 'redisAdapter needs { client }: an ioredis Redis or Cluster instance.');
  }
  const keys = keysFor(options.prefix ?? 'spendguard');
  const timeoutMs = options.commandTimeoutMs ?? 2000;
  const historyRetentionMs = options.historyRetentionMs ?? 2 * 365 * 86_400_000;
  const resendWindowMs = options.resendWindowMs ?? 60_000;
  const scripts = defineScripts(client);
  /** Set by the guards on this adapter (configure); the longest one asked for wins. */
  let retentionMs: number | undefined;
  const retention = () => retentionMs ?? 86_400_000;

  /**
   * Sends one command, failing fast while the client is known to be down (nothing is queued then)
   * and failing after `timeoutMs` when no answer comes. A charge that was sent and timed out may
   * still run later; it dedupes by its call id, so a journal replay of it counts once.
   */
  async function send<T>(what: string, call: () => Promise<T>): Promise<T> {
    if (DOWN.has(client.status)) {
      throw new SpendGuardError(
        'STORE_UNAVAILABLE',
        `Redis is not connected (${client.status}); nothing was recorded for ${what}. Retry when it is back.`,
      );
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        call(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(
            () =>
              reject(
                new SpendGuardError('STORE_UNAVAILABLE', `Redis did not answer ${what} within ${timeoutMs} ms; retry when it is back.`),
              ),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      if (err instanceof SpendGuardError) throw err;
      throw new SpendGuardError('STORE_UNAVAILABLE', `Redis failed on ${what}: ${(err as Error).message}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  const run = (script: ScriptName, keyList: KeyName[], args: Array<string | number>) =>
    send(
      script,
      () =>
        (client as unknown as Record<string, (...a: unknown[]) => Promise<Reply>>)[scripts[script]]?.(
          keyList.length,
          ...keyList,
          ...args,
        ) as Promise<Reply>,
    );

  return {
    name: 'redis',
    capabilities: { ledger: false, serverClock: true },

    configure(settings: StoreSettings): void {
      retentionMs = Math.max(retentionMs ?? 0, settings.retentionMs);
    },

    async charge(req: ChargeRequest): Promise<ChargeOutcome> {
      const keyed = req.idempotencyKey !== undefined;
      const reply = await run(
        'charge',
        [
          keys.limits,
          keys.holds,
          keys.op(req.callId),
          keyed ? keys.idempotency(req.idempotencyKey as string) : keys.op(req.callId),
          keys.reservation(req.callId),
        ],
        encodeRefs(req.instances, [
          keys.prefix,
          req.kind,
          req.callId,
          req.amount,
          req.force ? 1 : 0,
          req.ttlMs ?? 0,
          retention(),
          keyed ? 1 : 0,
          historyRetentionMs,
          resendWindowMs,
        ]),
      );
      const n = req.instances.length;
      if (Number(reply[0]) === 1) {
        const out: ChargeOutcome = {
          ok: true,
          callId: String(reply[1]),
          replayed: Number(reply[2]) === 1,
          totals: decodeTotals(reply, 4, n).totals,
        };
        if (req.kind === 'reserve') out.expiresAt = Number(reply[3]);
        return out;
      }
      return {
        ok: false,
        refusedAt: Number(reply[1]),
        reason: Number(reply[2]) === 1 ? 'no_budget' : 'limit_exceeded',
        totals: decodeTotals(reply, 3, n).totals,
      };
    },

    async settle(req: SettleRequest): Promise<SettleOutcome> {
      const reply = await run(
        'settle',
        [keys.reservation(req.reservationId), keys.limits, keys.holds],
        [
          keys.prefix,
          req.action,
          req.action === 'commit' ? req.amount : 0,
          req.action === 'commit' ? req.spendId : '',
          retention(),
          historyRetentionMs,
          req.reservationId,
        ],
      );
      const status = String(reply[0]);
      if (status === 'unknown' || status === 'released_before') return { status };
      if (status === 'committed_before') {
        return { status, spendId: String(reply[1]), actual: Number(reply[2]), reserved: Number(reply[3]), expired: Number(reply[4]) === 1 };
      }
      const instances = JSON.parse(String(reply[3])) as Array<Array<string | false>> | Record<string, never> as Array<
        Array<string | false>
      >;
      const refs = Array.isArray(instances) ? instances.map(decodeStoredRef) : [];
      return {
        status: 'applied',
        reserved: Number(reply[1]),
        expired: Number(reply[2]) === 1,
        instances: refs,
        totals: decodeTotals(reply, 4, refs.length).totals,
      };
    },

    async read(refs: readonly InstanceRef[]) {
      const reply = await run('read', [keys.limits, keys.holds], encodeRefs(refs, [keys.prefix, EXPIRED_HOLD_RETENTION_MS]));
      return decodeTotals(reply, 0, refs.length).totals;
    },

    async observe(refs: readonly InstanceRef[]) {
      const reply = await run('observe', [keys.limits, keys.holds], encodeRefs(refs, [keys.prefix, EXPIRED_HOLD_RETENTION_MS]));
      return decodeTotals(reply, 0, refs.length).totals;
    },

    async history(req: HistoryRequest): Promise<number[]> {
      if (req.periods.length === 0) return [];
      const used = await send('history', () => {
        const p = client.pipeline();
        for (const period of req.periods) p.hget(keys.totals(req.instance, period), 'u');
        return p.exec();
      });
      return (used ?? []).map(([err, v]) => {
        if (err) throw new SpendGuardError('STORE_UNAVAILABLE', `Redis failed on history: ${err.message}`, { cause: err });
        return Number(v ?? 0);
      });
    },

    /** Pages by ZSCAN: a name may come twice while the set grows (the guard dedupes), none is missed. */
    async instances(req: InstancePageRequest): Promise<InstancePage> {
      const [cursor, flat] = await send('instances', () => client.zscan(keys.instances(req.rule), req.cursor ?? '0', 'COUNT', req.limit));
      const names: string[] = [];
      for (let i = 0; i < flat.length; i += 2) names.push(flat[i] as string);
      return cursor === '0' ? { names } : { names, cursor };
    },

    async limits(): Promise<LimitsSnapshot> {
      const reply = await run('limits', [keys.limits, keys.limitsVersion], []);
      const flat = reply[1] as string[];
      const overrides = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) overrides.set(flat[i] as string, Number(flat[i + 1]));
      return { version: Number(reply[0]), overrides };
    },

    async setLimit(req: SetLimitRequest): Promise<SetLimitOutcome> {
      const reply = await run('set-limit', [keys.limits, keys.limitsVersion], [req.name, req.limit, req.expectedVersion]);
      return { ok: Number(reply[0]) === 1, version: Number(reply[1]) };
    },

    close(): void {
      // The client belongs to the caller.
    },
  };
}
