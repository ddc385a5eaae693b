// postgresAdapter(): budgets in PostgreSQL, shared by every process and machine on the database. Each call
// that changes totals is one step of the batch function (sql/functions/batch.sql); calls that arrive
// while a batch is in flight go together as the next one (batch-queue.ts): one round trip, one
// transaction.
import { randomUUID } from 'node:crypto';
import { SpendGuardError } from '@spendguard/core';
import type {
  ChargeOutcome,
  ChargeRequest,
  FeedFact,
  FeedRequest,
  Grant,
  GrantRequest,
  HistoryRequest,
  InstancePage,
  InstancePageRequest,
  InstanceRef,
  InstanceTotals,
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
import {
  BatchQueue,
  DEFAULT_EVENT_RETENTION_MS,
  DEFAULT_HISTORY_RETENTION_MS,
  DEFAULT_RETENTION_MS,
  factNumber,
  isForecastClaim,
} from '@spendguard/core/adapter';
import type { Pool } from 'pg';
import { encodeOps, type LeaseItemOutcome, nowOf, type Op, type Outcome } from './batch.js';
import { isConflict, isFenced, isStatementError, neverSent, unavailable } from './errors.js';
import { migrate, quoteIdentifier } from './migrate.js';
import { fromStored, fromStoredValue, nameTooLong, toStored } from './stored-text.js';

export interface PostgresAdapterOptions {
  /** A node-postgres `Pool` that the caller owns (and ends). */
  pool: Pool;
  /** The schema that holds the adapter's tables and functions, created if absent. Default 'spendguard'. */
  schema?: string;
  /** How long a period's totals stay readable after the period ends (ms). Default 2 years. */
  historyRetentionMs?: number;
  /**
   * How long a call whose answer was lost waits for the server to say whether it committed (ms), before
   * it throws not knowing. Default 15 000.
   */
  inDoubtWaitMs?: number;
}

/** How many forgotten rows one batch deletes at most (the function's own bound), and how often it looks. */
const FORGET_BATCH = 256;
const SWEEP_EVERY_MS = 1000;
/** Conflicts (a deadlock the server broke) are sent again this many times. */
const CONFLICT_RETRIES = 5;

/**
 * A StorageAdapter on PostgreSQL.
 *
 * **The server's clock** decides when reservations and leased slices expire and when records are
 * forgotten, so that every process and machine agrees; the callers' clocks decide periods and days.
 *
 * **A call that threw recorded nothing.** Every batch writes its id and its results in the same
 * transaction. When the connection is lost before the answer (the backend was terminated, the server
 * restarted, the network dropped), the adapter asks the server, as soon as it answers again (waiting up to
 * `inDoubtWaitMs`), by inserting a fence row with that id: if the batch committed, its stored results answer its
 * calls; if not, the fence makes the batch fail should it still arrive, and its calls throw, having recorded
 * nothing. If the server does not answer within that time, the calls throw STORE_UNAVAILABLE and the
 * adapter keeps asking; should the batch turn out to have committed, it emits a process warning (code
 * SPENDGUARD_IN_DOUBT) and the spend stays recorded.
 */
export function postgresAdapter(options: PostgresAdapterOptions): StorageAdapter {
  const pool = options?.pool;
  if (!pool || typeof (pool as Pool).query !== 'function' || typeof (pool as Pool).connect !== 'function') {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      'postgresAdapter needs { pool }: a node-postgres Pool (new pg.Pool({ connectionString })).',
    );
  }
  const schema = options.schema ?? 'spendguard';
  if (typeof schema !== 'string' || schema.length === 0 || Buffer.byteLength(schema) > 63 || schema.includes('\0')) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `postgresAdapter schema must be a name of 1 to 63 bytes (PostgreSQL cuts longer identifiers); got ${JSON.stringify(schema)}.`,
    );
  }
  const historyRetentionMs = positive(options.historyRetentionMs, DEFAULT_HISTORY_RETENTION_MS, 'historyRetentionMs');
  const inDoubtWaitMs = positive(options.inDoubtWaitMs, 15_000, 'inDoubtWaitMs');
  /**
   * How long a batch's results are kept for a client that lost its answer: the wait, many times over,
   * and at least an hour (they cost ~170 bytes per call; a day of them at thousands of calls a second
   * would be tens of gigabytes). A fence row written after that finds nothing, and the call is taken
   * for one that never ran.
   */
  const callRetention = Math.max(3_600_000, 10 * inDoubtWaitMs);
  const s = quoteIdentifier(schema);
  /** The schema check, started at once; one that failed for want of a server is tried again by the next call. */
  let ready = migrate(pool, schema);
  ready.catch(() => {}); // reported by the first call

  let retentionMs: number | undefined;
  let eventRetentionMs: number | undefined;
  const retention = () => retentionMs ?? DEFAULT_RETENTION_MS;
  let nextSweep = Number.NEGATIVE_INFINITY;
  /** Batches whose answer was lost and that the server could not yet tell about. */
  const unresolved = new Set<string>();

  async function ensureReady(): Promise<void> {
    const attempt = ready;
    try {
      await attempt;
    } catch (err) {
      if (err instanceof SpendGuardError) throw err; // a schema newer than this package: final
      if (ready === attempt) {
        ready = migrate(pool, schema);
        ready.catch(() => {});
      }
      throw unavailable('checking its schema', err);
    }
  }

  async function send(ops: Op[]): Promise<Array<Outcome | Error>> {
    await ensureReady();
    const id = randomUUID();
    const now = Date.now();
    const sweep = now >= nextSweep;
    const encoded = encodeOps(ops);
    const settings = JSON.stringify({
      retention: retention(),
      eventRetention: eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS,
      history: historyRetentionMs,
      callRetention,
      sweep,
      // The earliest caller's clock: grants are forgotten only once they count for none of them.
      now: ops.reduce((min, op) => Math.min(min, nowOf(op)), Number.POSITIVE_INFINITY),
    });
    for (let attempt = 0; ; attempt++) {
      try {
        const { rows } = await pool.query<{ r: { results: Outcome[]; swept: number } }>(`SELECT ${s}.batch($1, $2, $3, $4) AS r`, [
          id,
          encoded.ops,
          encoded.refs,
          settings,
        ]);
        const reply = (rows[0] as { r: { results: Outcome[]; swept: number } }).r;
        if (sweep) nextSweep = reply.swept === FORGET_BATCH ? now : now + SWEEP_EVERY_MS;
        if (unresolved.size > 0) void resolveLater();
        return reply.results;
      } catch (err) {
        if (isConflict(err) && attempt < CONFLICT_RETRIES) continue;
        if (isFenced(err) || neverSent(err) || isStatementError(err)) throw unavailable('a batch of calls', err);
        return await recover(id, err);
      }
    }
  }

  /** Asks the server whether batch `id`, whose answer was lost, committed; fences it off if it did not. */
  async function fence(id: string): Promise<Outcome[] | 'not-run'> {
    const inserted = await pool.query(
      `INSERT INTO ${s}.calls (id, results, forget_at)
        VALUES ($1, NULL, floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint + $2) ON CONFLICT (id) DO NOTHING`,
      [id, Math.max(retention(), callRetention)],
    );
    if (inserted.rowCount === 1) return 'not-run';
    const { rows } = await pool.query<{ results: Outcome[] | null }>(`SELECT results FROM ${s}.calls WHERE id = $1`, [id]);
    return rows[0]?.results ?? 'not-run';
  }

  async function recover(id: string, cause: unknown): Promise<Outcome[]> {
    const giveUpAt = Date.now() + inDoubtWaitMs;
    for (;;) {
      try {
        const found = await fence(id);
        if (found === 'not-run') throw unavailable('a batch of calls', cause);
        return found;
      } catch (err) {
        if (err instanceof SpendGuardError) throw err;
        if (Date.now() >= giveUpAt) {
          unresolved.add(id);
          throw unavailable('a batch of calls', cause, 'checking');
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  let resolving = false;
  async function resolveLater(): Promise<void> {
    if (resolving) return;
    resolving = true;
    try {
      for (const id of [...unresolved]) {
        const found = await fence(id);
        unresolved.delete(id);
        if (found !== 'not-run') {
          process.emitWarning(
            `spendguard: batch ${id} of ${found.length} calls committed in PostgreSQL although its calls threw STORE_UNAVAILABLE (its answer was lost and the server did not answer for ${inDoubtWaitMs} ms): those spends stay recorded.`,
            { code: 'SPENDGUARD_IN_DOUBT' },
          );
        }
      }
    } catch {
      // Still unreachable: the next batch that gets through tries again.
    } finally {
      resolving = false;
    }
  }

  const batches = new BatchQueue<Op, Outcome>(send);

  /** One statement; `writes`: whether it may have committed when its answer is lost (a limit write). */
  async function query<R extends object>(what: string, text: string, values: unknown[], writes = false): Promise<R[]> {
    await ensureReady();
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (err) {
      const lost = writes && !neverSent(err) && !isStatementError(err);
      throw unavailable(what, err, lost ? 'unknown' : 'nothing');
    }
  }

  return {
    name: 'postgres',
    capabilities: { ledger: false, serverClock: true },

    configure(settings: StoreSettings): void {
      retentionMs = Math.max(retentionMs ?? 0, settings.retentionMs);
      eventRetentionMs = Math.max(eventRetentionMs ?? 0, settings.eventRetentionMs ?? DEFAULT_EVENT_RETENTION_MS);
    },

    charge(req: ChargeRequest): Promise<ChargeOutcome> {
      // Refused alone, before it could fail the calls batched with it.
      for (const ref of req.instances) {
        const err = nameTooLong(ref.name);
        if (err) return Promise.reject(err);
      }
      try {
        isForecastClaim(req);
      } catch (err) {
        return Promise.reject(err);
      }
      return batches.submit({ kind: 'charge', req }) as Promise<ChargeOutcome>;
    },
    async settle(req: SettleRequest): Promise<SettleOutcome> {
      const outcome = (await batches.submit({ kind: 'settle', req })) as SettleOutcome;
      if (outcome.status === 'applied') outcome.instances = fromStoredValue(outcome.instances);
      return outcome;
    },

    /** One batch call per slice: they go out together, and a lease step sent again counts once. */
    async lease(req: LeaseRequest): Promise<LeaseOutcome> {
      for (const item of req.items) {
        const err = nameTooLong(item.ref.name);
        if (err) throw err;
      }
      const outcomes = await Promise.all(
        req.items.map((item) => batches.submit({ kind: 'lease', item, expireMs: req.expireMs, now: req.now }) as Promise<LeaseItemOutcome>),
      );
      return { slices: outcomes.map((o) => o.slice), totals: outcomes.map((o) => o.totals) };
    },

    read: (refs: readonly InstanceRef[], now: number) =>
      batches.submit({ kind: 'read', refs, now }) as Promise<Array<InstanceTotals | null>>,
    observe: (refs: readonly InstanceRef[], now: number) =>
      batches.submit({ kind: 'observe', refs, now }) as Promise<Array<InstanceTotals | null>>,

    async feed(req: FeedRequest): Promise<FeedFact[]> {
      const from = req.from === undefined ? 0 : factNumber(req.from);
      const rows = await query<{ id: string; fact: Omit<FeedFact, 'id'> }>(
        'the event feed',
        `SELECT f.seq::text AS id, f.fact FROM ${s}.feed AS f WHERE f.seq >= $1 ORDER BY f.seq LIMIT $2`,
        [from, req.limit],
      );
      return rows.map((r) => ({ id: r.id, ...fromStoredValue(r.fact) }));
    },

    async history(req: HistoryRequest): Promise<number[]> {
      if (req.periods.length === 0) return [];
      const rows = await query<{ period: string; used: string }>(
        'history',
        `SELECT period, used::text AS used FROM ${s}.totals WHERE instance = $1 AND period = ANY($2::text[]) AND opened`,
        [toStored(req.instance), req.periods.map(toStored)],
      );
      const used = new Map(rows.map((r) => [fromStored(r.period), Number(r.used)]));
      return req.periods.map((p) => used.get(p) ?? 0);
    },

    async instances(req: InstancePageRequest): Promise<InstancePage> {
      const rows = await query<{ name: string }>(
        'instances',
        `SELECT name FROM ${s}.instances WHERE rule = $1 AND name > $2 ORDER BY name LIMIT $3`,
        [toStored(req.rule), toStored(req.cursor ?? ''), req.limit],
      );
      const names = rows.map((r) => fromStored(r.name));
      return names.length === req.limit ? { names, cursor: names[names.length - 1] as string } : { names };
    },

    /** One statement, so one snapshot: the version, the overrides and the grants agree. */
    async limits(): Promise<LimitsSnapshot> {
      const rows = await query<LimitsRow>(
        'limits',
        `SELECT (SELECT value::text FROM ${s}.meta WHERE key = 'limits_version') AS version,
          coalesce((SELECT jsonb_object_agg(name, amount) FROM ${s}.limits), '{}') AS overrides,
          coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name, 'amount', amount, 'expiresAt', expires_at,
            'grantedAt', granted_at, 'reason', reason) ORDER BY expires_at, id) FROM ${s}.grants), '[]') AS grants`,
        [],
      );
      const row = rows[0] as LimitsRow;
      return {
        version: Number(row.version),
        overrides: new Map(Object.entries(row.overrides).map(([k, v]) => [fromStored(k), v])),
        grants: row.grants.map(grantOf),
      };
    },

    /** A compare-and-set on the limits version: retried after a lost answer, it changes nothing twice. */
    async setLimit(req: SetLimitRequest): Promise<SetLimitOutcome> {
      const rows = await query<{ r: SetLimitOutcome }>(
        'setLimit',
        `SELECT ${s}.set_limit($1, $2, $3) AS r`,
        [toStored(req.name), req.limit, req.expectedVersion],
        true,
      );
      return (rows[0] as { r: SetLimitOutcome }).r;
    },

    /** Like setLimit: a compare-and-set on the limits version, and a grant sent again is found by its id. */
    async grant(req: GrantRequest): Promise<SetLimitOutcome> {
      const g = req.grant;
      const err = nameTooLong(g.name);
      if (err) throw err;
      const rows = await query<{ r: SetLimitOutcome }>(
        'grant',
        `SELECT ${s}.grant_limit($1, $2, $3, $4, $5, $6, $7) AS r`,
        [
          toStored(g.id),
          toStored(g.name),
          g.amount,
          g.expiresAt,
          g.grantedAt,
          g.reason === undefined ? null : toStored(g.reason),
          req.expectedVersion,
        ],
        true,
      );
      return (rows[0] as { r: SetLimitOutcome }).r;
    },

    /** Waits for the calls in flight (the pool belongs to the caller and stays open). */
    async close(): Promise<void> {
      await batches.drained();
      if (unresolved.size > 0) await resolveLater();
    },
  };
}

interface LimitsRow {
  version: string;
  overrides: Record<string, number>;
  grants: Array<Omit<Grant, 'reason'> & { reason: string | null }>;
}

function grantOf(row: LimitsRow['grants'][number]): Grant {
  const { reason, ...rest } = row;
  const grant = { ...rest, id: fromStored(rest.id), name: fromStored(rest.name) };
  return reason === null ? grant : { ...grant, reason: fromStored(reason) };
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `postgresAdapter ${name} must be a positive whole number of milliseconds; got ${String(value)}.`,
    );
  }
  return value;
}
