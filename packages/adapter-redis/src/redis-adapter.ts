// redisAdapter(): budgets in Redis (single node or Cluster) shared by many machines. Every operation
// that changes totals is one atomic step of a Lua script; those that arrive while a script call is in
// flight go together as one batch call (group-commit.ts), each still all or nothing with its own result.
import { SpendGuardError } from '@spendguard/core';
import type {
  ChargeOutcome,
  ChargeRequest,
  FeedFact,
  FeedRequest,
  GrantRequest,
  HistoryRequest,
  InstancePage,
  InstancePageRequest,
  InstanceRef,
  LeaseOutcome,
  LeaseRequest,
  LimitsSnapshot,
  SetLimitOutcome,
  SetLimitRequest,
  SettleOutcome,
  SettleRequest,
  StorageAdapter,
  StoreSettings,
} from '@spendguard/core/adapter';
import { DEFAULT_EVENT_RETENTION_MS, DEFAULT_HISTORY_RETENTION_MS, DEFAULT_RETENTION_MS, isForecastClaim } from '@spendguard/core/adapter';
import type { Cluster, Redis } from 'ioredis';
import type { LeaseItemOutcome, Op } from './batch.js';
import { decodeGrants, encodeGrant } from './grants.js';
import { groupCommit } from './group-commit.js';
import { keysFor } from './keys.js';
import { decodeTotals, encodeRefs } from './replies.js';
import { ScriptCaller } from './script-caller.js';
import { defineScripts } from './scripts.js';

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
   * How long Redis keeps what it needs to cancel a call whose answer was lost (ms): the bound on how
   * long Redis may stay unreachable after such a call. Default one day; at least 2 × commandTimeoutMs.
   * It costs almost nothing: the adapter's entries for calls it has not seen answered, in one hash.
   */
  resendWindowMs?: number;
}

/**
 * A StorageAdapter on Redis.
 *
 * **A call that threw recorded nothing.** Each charge and settle carries a deadline in the server's
 * clock (the adapter learns the clock's offset from the scripts' replies): it is the moment the
 * adapter gives up on the call (`commandTimeoutMs` after sending it) less a margin, so a request that
 * reaches Redis later (a paused server, a slow network, ioredis resending it after a reconnect, or
 * running it from its offline queue) changes nothing. A call that may have run in time but whose answer
 * the adapter did not see (the connection dropped, the answer came after the timer) is *in doubt*: before
 * its next script call, once Redis answers, the adapter cancels it (lua/cancel.lua) — undone exactly if
 * it ran (totals, hold, idempotency key), fenced off if it could still arrive. Calls batched together
 * share one deadline and one session entry that says what each of them recorded: a lost batch puts each
 * of its calls in doubt, and the cancel undoes exactly the ones that ran. So a caller that retries
 * a call that threw, without an idempotency key, pays once; and an offline-journal replay (same call id)
 * counts once (the original, if it ran, is cancelled before the replay runs). While a cancel fails,
 * every script call fails with STORE_UNAVAILABLE, sending nothing.
 *
 * The guarantee holds when Redis answers again within `resendWindowMs` of the failed call (it keeps the
 * adapter's session, which tells whether a call ran, that long without a refresh) and while this
 * process lives (calls in doubt are kept in memory; `close()` cancels them, or rejects naming them). If
 * Redis stays unreachable longer, a call that ran cannot be told apart from one that did not: the adapter
 * emits a process warning (code SPENDGUARD_IN_DOUBT) and it stays recorded. A late request is a no-op
 * whatever the delay. It also assumes: the server's clock does not step back by more than the margin
 * (a tenth of commandTimeoutMs, at most 250 ms) within a second; Redis does not evict keys
 * (maxmemory-policy noeviction); a settle in doubt is cancelled within `retentionMs` (its reservation
 * record tells whether it ran). A reservation taken by a call in doubt that another caller already
 * obtained with the same idempotency key, and settled, is left as it is; a limit write (setLimit, grant)
 * gets a deadline but no cancel (its compare-and-set makes a retry safe, and a grant sent again is known
 * by its id).
 *
 * Rollover and grants follow the shared algorithm (record-adapter.ts): the step that opens a period keeps
 * what rollover carried in its totals, and grants count by the caller's `now`, as periods do, so they
 * end when the guards' clock says so; expired ones are forgotten by later steps, a few at a time.
 */
export function redisAdapter(options: RedisAdapterOptions): StorageAdapter {
  const client = options?.client;
  if (!client || typeof (client as Redis).defineCommand !== 'function') {
    throw new SpendGuardError('INVALID_CONFIG', 'redisAdapter needs { client }: an ioredis Redis or Cluster instance.');
  }
  const keys = keysFor(options.prefix ?? 'spendguard');
  const timeoutMs = positive(options.commandTimeoutMs, 2000, 'commandTimeoutMs');
  const historyRetentionMs = positive(options.historyRetentionMs, DEFAULT_HISTORY_RETENTION_MS, 'historyRetentionMs');
  const resendWindowMs = positive(options.resendWindowMs, 86_400_000, 'resendWindowMs');
  if (resendWindowMs < 2 * timeoutMs) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `redisAdapter resendWindowMs (${resendWindowMs}) must be at least 2 × commandTimeoutMs (${2 * timeoutMs}): a failed call must be cancellable after it timed out.`,
    );
  }
  let eventRetentionMs: number | undefined;
  const eventRetention = () => eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS;
  const caller = new ScriptCaller(client, defineScripts(client), keys, {
    timeoutMs,
    sessionTtlMs: resendWindowMs,
    eventRetentionMs: () => eventRetention(),
  });
  /** Set by the guards on this adapter (configure); the longest one asked for wins. */
  let retentionMs: number | undefined;
  const retention = () => retentionMs ?? DEFAULT_RETENTION_MS;
  const batches = groupCommit(caller, keys, { retention, eventRetention, historyRetentionMs });

  return {
    name: 'redis',
    capabilities: { ledger: false, serverClock: true },

    configure(settings: StoreSettings): void {
      retentionMs = Math.max(retentionMs ?? 0, settings.retentionMs);
      eventRetentionMs = Math.max(eventRetentionMs ?? 0, settings.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS);
    },

    charge(req: ChargeRequest): Promise<ChargeOutcome> {
      try {
        isForecastClaim(req); // a malformed claim is refused alone, before it joins a batch
      } catch (err) {
        return Promise.reject(err);
      }
      const op: Op = { kind: 'charge', req };
      if (req.kind === 'reserve') op.reservationKey = keys.reservation(req.callId);
      if (req.idempotencyKey !== undefined) op.idempotencyKey = keys.idempotency(req.idempotencyKey);
      return batches.submit(op) as Promise<ChargeOutcome>;
    },

    settle(req: SettleRequest): Promise<SettleOutcome> {
      return batches.submit({ kind: 'settle', req, reservationKey: keys.reservation(req.reservationId) }) as Promise<SettleOutcome>;
    },

    /** One batch operation per slice: they go out together, and a lease step sent again counts once. */
    async lease(req: LeaseRequest): Promise<LeaseOutcome> {
      const outcomes = await Promise.all(
        req.items.map((item) => batches.submit({ kind: 'lease', item, now: req.now, expireMs: req.expireMs }) as Promise<LeaseItemOutcome>),
      );
      return { slices: outcomes.map((o) => o.slice), totals: outcomes.map((o) => o.totals) };
    },

    async read(refs: readonly InstanceRef[], now: number) {
      const reply = await caller.read(
        'read',
        [keys.limits, keys.holds, keys.leases, keys.feed],
        [...encodeRefs(refs, [keys.prefix, retention()]), eventRetention(), now],
      );
      return decodeTotals(reply, 1, refs).totals;
    },

    async observe(refs: readonly InstanceRef[], now: number) {
      const reply = await caller.read(
        'observe',
        [keys.limits, keys.holds, keys.leases, keys.feed],
        [...encodeRefs(refs, [keys.prefix, retention()]), eventRetention(), now],
      );
      return decodeTotals(reply, 1, refs).totals;
    },

    /** The feed is a stream: its entry ids (server ms and a sequence) order the facts. */
    async feed(req: FeedRequest): Promise<FeedFact[]> {
      if (req.from !== undefined && !/^[0-9]{1,16}-[0-9]{1,16}$/.test(req.from)) {
        throw new SpendGuardError(
          'INVALID_CONFIG',
          `events({ since }) names fact '${req.from}', which this store never wrote; pass an id that events() returned.`,
        );
      }
      const entries = await caller.command('feed', () => client.xrange(keys.feed, req.from ?? '-', '+', 'COUNT', req.limit));
      return entries.map(([id, fields]) => ({ id, ...(JSON.parse(fields[1] as string) as Omit<FeedFact, 'id'>) }));
    },

    async history(req: HistoryRequest): Promise<number[]> {
      if (req.periods.length === 0) return [];
      const used = await caller.command('history', () => {
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
      const [cursor, flat] = await caller.command('instances', () =>
        client.zscan(keys.instances(req.rule) as string, req.cursor ?? '0', 'COUNT', req.limit),
      );
      const names: string[] = [];
      for (let i = 0; i < flat.length; i += 2) names.push(flat[i] as string);
      return cursor === '0' ? { names } : { names, cursor };
    },

    async limits(): Promise<LimitsSnapshot> {
      const reply = await caller.read('limits', [keys.limits, keys.limitsVersion, keys.grants], []);
      const flat = reply[1] as string[];
      const overrides = new Map<string, number>();
      for (let i = 0; i < flat.length; i += 2) overrides.set(flat[i] as string, Number(flat[i + 1]));
      return { version: Number(reply[0]), overrides, grants: decodeGrants(reply[2] as string[]) };
    },

    async setLimit(req: SetLimitRequest): Promise<SetLimitOutcome> {
      const reply = await caller.record({
        script: 'set-limit',
        keys: [keys.limits, keys.limitsVersion],
        args: (_attempt, deadline) => [req.name, req.limit, req.expectedVersion, deadline],
        late: (r) => (Number(r[1]) === 2 ? 'known' : false),
      });
      return { ok: Number(reply[1]) === 1, version: Number(reply[2]) };
    },

    /** Like setLimit: a compare-and-set with a deadline and no cancel; sent again, a stored grant changes nothing. */
    async grant(req: GrantRequest): Promise<SetLimitOutcome> {
      const reply = await caller.record({
        script: 'grant',
        keys: [keys.limitsVersion, keys.grants, keys.grantsDue],
        args: (_attempt, deadline) => [req.grant.name, encodeGrant(req.grant), req.expectedVersion, deadline, req.now],
        late: (r) => (Number(r[1]) === 2 ? 'known' : false),
      });
      return { ok: Number(reply[1]) === 1, version: Number(reply[2]) };
    },

    /** Cancels the calls still in doubt (the client belongs to the caller and stays open). */
    async close(): Promise<void> {
      await caller.settleDoubts();
    },
  };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `redisAdapter ${name} must be a positive whole number of milliseconds; got ${String(value)}.`,
    );
  }
  return value;
}
