// The storage-adapter interface (SPI). Each method that can change a total is ONE atomic step in the
// store; adapters do arithmetic on named counters and know nothing of rules, levels or events.

/** One budget instance in one period, as a step must see it. All amounts are integer micro-units. */
export interface InstanceRef {
  /** Instance name, unique within a store: 'monthly', 'project:api'. */
  readonly id: string;
  /** Period key: totals of different periods are different records. */
  readonly period: string;
  /** Day key in the instance's time zone, for the `todayUsed` sub-total. */
  readonly day: string;
  /** When the period ends (ms), or 0 for a lifetime period: stores that expire old periods count from it. */
  readonly periodEnd: number;
  /** Configured limit, or null when none is configured for this instance. */
  readonly limit: number | null;
  /** Run-time limit override names to look up first, most specific first; the first present wins. */
  readonly limitKeys: readonly string[];
  /**
   * true: the step refuses if `used + reserved + amount` would pass the limit, or if there is no limit.
   * false: never refuses; an instance without any limit is skipped (its totals come back null).
   */
  readonly hard: boolean;
}

/** One instance's totals as a step left them. */
export interface InstanceTotals {
  /** The effective limit: the first override found, else the configured one. */
  limit: number;
  used: number;
  /** `used` before this step: the core derives level changes from the pair. */
  usedBefore: number;
  reserved: number;
  /** Used in the day named by the ref's `day` (0 when the record holds an older day). */
  dayUsed: number;
  /**
   * Set only by the step that first touched this period of an instance that had activity before:
   * the last earlier period with activity. Exactly one step ever sees it.
   */
  previous?: { period: string; used: number };
}

export interface LedgerEntry {
  attrs: Record<string, string>;
  meta?: Record<string, string | number>;
}

export interface ChargeRequest {
  kind: 'spend' | 'reserve';
  /**
   * The spend or reservation id, chosen by the core, unique per call. A journal replay sends the
   * original id again: an adapter whose transport may run one call twice dedupes by it.
   */
  id: string;
  instances: readonly InstanceRef[];
  amount: number;
  /** The caller's clock (ms). Adapters whose callers share no clock may use their own instead. */
  now: number;
  /** Reserve only: how long the reservation holds its amount. */
  ttlMs?: number;
  /** Record without checking limits: a spend that was already admitted (journal replay). */
  force?: boolean;
  /** A repeated key returns the first successful step's id and changes nothing. */
  idempotencyKey?: string;
  /** How long an idempotency key (and a settled reservation) is remembered. */
  retentionMs: number;
  /** Present when the adapter was asked to keep a ledger. */
  ledger?: LedgerEntry;
}

export type ChargeOutcome =
  | {
      ok: true;
      id: string;
      /** true when an idempotency key matched an earlier step: nothing was counted. */
      replayed: boolean;
      /** Reserve only: when the reservation expires (the adapter's clock). */
      expiresAt?: number;
      /** One entry per request instance, null for a skipped soft instance. */
      totals: Array<InstanceTotals | null>;
    }
  | {
      ok: false;
      /** Index of the first instance that refused. */
      refusedAt: number;
      /** true when it refused because it has no limit at all. */
      missing: boolean;
      totals: Array<InstanceTotals | null>;
    };

export interface SettleRequest {
  action: 'commit' | 'release';
  reservationId: string;
  /** Commit only: the actual cost. Recorded in the reservation's own period, without a limit check. */
  amount: number;
  /** Commit only: the id of the spend the commit records. */
  spendId: string;
  now: number;
  retentionMs: number;
  ledger?: LedgerEntry;
}

export type SettleOutcome =
  | { status: 'unknown' }
  | { status: 'released_before' }
  | { status: 'committed_before'; spendId: string; actual: number; reserved: number; expired: boolean }
  | {
      status: 'applied';
      /** The amount the reservation held. */
      reserved: number;
      /** true when the reservation had expired before this step (its hold was already freed). */
      expired: boolean;
      /** The instances the reservation was taken on, with their totals after the step. */
      instances: readonly InstanceRef[];
      totals: Array<InstanceTotals | null>;
    };

export interface LimitsSnapshot {
  /** Increases with every override written; used for optimistic compare-and-set. */
  version: number;
  overrides: Record<string, number>;
}

export interface SetLimitRequest {
  name: string;
  limit: number;
  /** The step fails (ok: false) when the overrides changed since this version was read. */
  expectedVersion: number;
  /** Instances whose totals to return, read in the same step, with their limits before and after. */
  read: readonly InstanceRef[];
  now: number;
}

export interface SetLimitOutcome {
  ok: boolean;
  version: number;
  limitsBefore: Array<number | null>;
  totals: Array<InstanceTotals | null>;
}

export interface HistoryRequest {
  id: string;
  periods: readonly string[];
}

type MaybePromise<T> = T | Promise<T>;

export interface StorageAdapter {
  readonly name: string;
  /** true when the adapter keeps a ledger of every spend: the core then sends attributes and meta. */
  readonly ledger?: boolean;
  /** Purge expired holds of the instances, check every hard limit, then add to all or none. */
  charge(request: ChargeRequest): MaybePromise<ChargeOutcome>;
  /** Commit or release a reservation. */
  settle(request: SettleRequest): MaybePromise<SettleOutcome>;
  /** Current totals (after purging expired holds), creating nothing. usedBefore equals used. */
  read(instances: readonly InstanceRef[], now: number): MaybePromise<Array<InstanceTotals | null>>;
  /** `used` of one instance in each of the given periods (0 where there was no activity). */
  history(request: HistoryRequest): MaybePromise<number[]>;
  /** Names of every instance that ever had activity. */
  instances(): MaybePromise<string[]>;
  limits(): MaybePromise<LimitsSnapshot>;
  setLimit(request: SetLimitRequest): MaybePromise<SetLimitOutcome>;
  close(): MaybePromise<void>;
}
