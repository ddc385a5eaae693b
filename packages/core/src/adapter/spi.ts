// The storage-adapter interface (SPI). Each method that can change a total is ONE atomic step in the
// store; an adapter does arithmetic on named counters and knows nothing of rules, levels or events.
// All amounts are integer micro-units; all times are milliseconds since the epoch.

/** One budget instance in one period, as a step must see it. */
export interface InstanceRef {
  /** The instance name, unique within a store: 'monthly', 'project:api'. */
  readonly name: string;
  /** The id of the rule the instance belongs to: stores list instances per rule. Opaque otherwise. */
  readonly rule: string;
  /** Period key: totals of different periods are different records. */
  readonly period: string;
  /** Day key in the instance's time zone, for the `dayUsed` sub-total. */
  readonly day: string;
  /** When the period ends, or 0 for a lifetime period: a store forgets a period's totals after it. */
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
  /**
   * Where events can happen, for the durable feed (see FeedFact): `fractions` of the effective limit (the
   * level thresholds) and absolute `amounts` (a soft limit). Absent: the step appends no facts for it.
   */
  readonly marks?: Marks;
  /**
   * Rollover: the step that opens this period (writes its first totals) fixes the amount carried in,
   * `carried` = min(max, max(0, base limit − used of `previous`)), and keeps it with the period's totals.
   * The base limit is the first override found, else `limit` (no carry, no grants): what is carried
   * does not carry again. With no totals for `previous`, the whole base limit was unused if the
   * instance had activity in an earlier period, and nothing carries into an instance's first period.
   * A read before the opening step computes the same amount without keeping it.
   */
  readonly rollover?: Rollover;
}

export interface Rollover {
  /** The most that carries (micro-units). */
  readonly max: number;
  /** The key of the period just before `period`. */
  readonly previous: string;
}

/**
 * A temporary raise of one instance's limit, shared by every guard on the store. A step adds the
 * amounts of an instance's grants whose `expiresAt` is after the step's `now` to its effective limit.
 */
export interface Grant {
  /** Chosen by the core, unique: writing a grant whose id is stored changes nothing. */
  readonly id: string;
  /** The instance name the grant raises (as InstanceRef.name). */
  readonly name: string;
  /** Micro-units, > 0. */
  readonly amount: number;
  /** When it stops counting (ms); the store may forget it from then on. */
  readonly expiresAt: number;
  /** When it was given (ms, the granting guard's clock). */
  readonly grantedAt: number;
  readonly reason?: string;
}

/** The points a step compares `used` against to decide whether to append a fact (feed.ts: crossesMark). */
export interface Marks {
  readonly fractions: readonly number[];
  readonly amounts: readonly number[];
}

/**
 * One entry of the durable event feed: an instance's before/after totals in a step that may have
 * caused events (it crossed a mark, changed the limit, opened a period, or committed an overage).
 * Appended by the very step that made the change, so it is there exactly once, in the store's order,
 * whatever happens to the process afterwards. The core derives the events from it.
 */
export interface FeedFact {
  /** Ordered as the store applied the steps; opaque otherwise. */
  id: string;
  /** The step's time (the store's clock where it has one). */
  at: number;
  name: string;
  rule: string;
  period: string;
  usedBefore: number;
  used: number;
  limitBefore: number;
  limit: number;
  previous?: PreviousPeriod;
  /** A commit above its reservation. */
  overage?: { reservationId: string; reserved: number; actual: number };
  /**
   * The step claimed the instance-period's forecast alert (ChargeRequest.forecast); `at` is the claiming
   * guard's clock (the request's `now`), which the alert's projection is computed from, as it was live.
   */
  forecast?: { at: number };
}

/**
 * The store refuses a `from` it could never have written with a SpendGuardError INVALID_CONFIG (a cursor
 * from another store, or garbled), rather than an empty feed forever.
 */
export interface FeedRequest {
  /** The id of the first fact to return (it and those after it); absent: from the oldest kept. */
  from?: string;
  limit: number;
}

/** The last earlier period with activity, as the step that opens a new period sees it. */
export interface PreviousPeriod {
  period: string;
  used: number;
  /**
   * The limit its level was last derived from in that period (the record's `limitBefore` basis), so the
   * level it ended at is judged by its own limit, not by the new period's (raised by rollover or
   * grants). Absent: the new limit is used.
   */
  limit?: number;
}

/** One instance's totals as a step left them. */
export interface InstanceTotals {
  /**
   * The effective limit now: the base limit (first override found, else the configured one), plus
   * the amount carried in by rollover, plus the active grants.
   */
  limit: number;
  /**
   * The limit this instance's level was last derived from (the limit of its previous step in this
   * period). A step that records a new limit returns the old one here, so that the level change a
   * limit change causes is seen by exactly one step, whichever comes first.
   */
  limitBefore: number;
  used: number;
  /**
   * `used` before this step; or, when an expired slice was charged since the last step (see LeaseRequest),
   * the `used` before that charge, so that the level change it caused is seen by exactly one step.
   */
  usedBefore: number;
  /** Held amounts: reservations and leased slices together (both count against the limit). */
  reserved: number;
  /** The part of `reserved` that guards hold as leased slices (0 or absent when none). */
  leased?: number;
  /** Used in the day named by the ref's `day` (0 when the record holds an older day). */
  dayUsed: number;
  /**
   * Set only by the step that first touched this period of an instance that had activity before:
   * the last earlier period with activity. Exactly one step ever sees it.
   */
  previous?: PreviousPeriod;
  /** The part of `limit` carried in from the previous period (refs with `rollover` only). */
  carried?: number;
}

/** Attributes and meta of a spend, kept by adapters with a ledger. */
export interface LedgerEntry {
  attrs: Record<string, string>;
  meta?: Record<string, string | number>;
}

export interface ChargeRequest {
  kind: 'spend' | 'reserve';
  /**
   * This call's id, chosen by the core and unique per call; it becomes the spend or reservation id.
   * A journal replay sends the original id again: an adapter whose transport may run one call twice
   * dedupes by it.
   */
  callId: string;
  instances: readonly InstanceRef[];
  amount: number;
  /** The caller's clock. Adapters with `capabilities.serverClock` use their own for expiry. */
  now: number;
  /** Reserve only: how long the reservation holds its amount. */
  ttlMs?: number;
  /** Record without checking limits: a spend that was already admitted (journal replay). */
  force?: boolean;
  /**
   * A forced spend that commits a reservation held only in the guard's process (offline) above its
   * amount: the store writes the overage into the feed with the step, as a settle would.
   */
  overage?: { reservationId: string; reserved: number; actual: number };
  /** A repeated key returns the first successful step's id and changes nothing. */
  idempotencyKey?: string;
  /**
   * A forecast claim: a reservation of nothing on the instance, keyed by the instance and period, that
   * only the first guard to send it takes. Checked against no limit; when it is not a replay, the store
   * appends a fact marked `forecast` for each instance with the step, whatever it crossed, so that the
   * forecast alert is in the feed exactly once, as the threshold alerts are.
   */
  forecast?: boolean;
  /** Sent only to adapters with `capabilities.ledger`. */
  ledger?: LedgerEntry;
}

export type RefusalReason = 'limit_exceeded' | 'no_budget';

export type ChargeOutcome =
  | {
      ok: true;
      /** This call's id, or the first call's id when an idempotency key matched. */
      callId: string;
      /** true when an idempotency key (or a resend of this very call) matched: nothing was counted. */
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
      /** no_budget: the instance has no limit at all; limit_exceeded: the amount does not fit. */
      reason: RefusalReason;
      totals: Array<InstanceTotals | null>;
    };

export interface CommitRequest {
  action: 'commit';
  reservationId: string;
  /** The actual cost, recorded in the reservation's own period without a limit check. */
  amount: number;
  /** The id of the spend the commit records. */
  spendId: string;
  now: number;
}

export interface ReleaseRequest {
  action: 'release';
  reservationId: string;
  now: number;
}

export type SettleRequest = CommitRequest | ReleaseRequest;

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

/** One slice's part in a lease step. */
export interface LeaseItem {
  /**
   * The slice's id, chosen by the holder (a guard) and unique to it: one holder's slice of one
   * instance-period. A holder starts a new id whenever it starts a slice afresh.
   */
  id: string;
  ref: InstanceRef;
  /**
   * Everything the holder has spent under this id, in total (it never decreases). The step records as
   * used, without a limit check, what exceeds what it already recorded for the id, so a step that is
   * sent again (its answer was lost) counts nothing twice. A slice charged in full at expiry counts as
   * recorded.
   */
  spent: number;
  /**
   * The slice the holder asks to hold after the step (hard instances only; 0 = hold none). The step
   * grants `want` when at least 2 × want is free, else half of what is free, but never less than
   * `min` and never more than is free; nothing when less than `min` is free.
   */
  want: number;
  /** The least slice worth holding (the amount of the call waiting for it; 0 = any). */
  min: number;
}

/**
 * A lease step: for each item, the slice the store holds under its id is given back, what the holder
 * spent beyond what was recorded is recorded, and a new slice is granted out of what is free (used +
 * reserved + leased never passes a hard limit). Slices count in `reserved` (and `leased`) like holds.
 * A slice not renewed within `expireMs` is charged in full by the next writing step of any kind: its
 * holder is presumed dead, so the store over-counts by at most its unused part and never under-counts.
 */
export interface LeaseRequest {
  items: readonly LeaseItem[];
  now: number;
  /** A slice not renewed within this long (ms) expires and is charged in full. */
  expireMs: number;
}

export interface LeaseOutcome {
  /** Per item: the slice the holder now holds (micro-units; 0 for none). */
  slices: number[];
  /** Per item: the instance's totals after the step (null: the instance has no limit). */
  totals: Array<InstanceTotals | null>;
}

export interface LimitsSnapshot {
  /** Increases with every override or grant written; used for optimistic compare-and-set. */
  version: number;
  overrides: ReadonlyMap<string, number>;
  /** The grants kept (the store may still hold some that have expired; the core filters by time). */
  grants: readonly Grant[];
}

/** Writes a grant when the limits have not changed since `expectedVersion` (like SetLimitRequest). */
export interface GrantRequest {
  grant: Grant;
  expectedVersion: number;
  now: number;
}

export interface SetLimitRequest {
  name: string;
  limit: number;
  /** The step fails (ok: false) when the overrides changed since this version was read. */
  expectedVersion: number;
  now: number;
}

export interface SetLimitOutcome {
  ok: boolean;
  version: number;
}

export interface HistoryRequest {
  instance: string;
  periods: readonly string[];
}

export interface InstancePageRequest {
  rule: string;
  /** Where the previous page ended (its `cursor`), or undefined for the first page. */
  cursor?: string;
  /** At most this many names. */
  limit: number;
}

export interface InstancePage {
  names: string[];
  /** Present when more names may follow. */
  cursor?: string;
}

/** Settings the guard gives its store once, when it is created. */
export interface StoreSettings {
  /** How long idempotency keys and settled reservations are remembered. */
  retentionMs: number;
  /** How long feed facts are kept (default 30 days); with several guards the longest wins. */
  eventRetentionMs?: number;
}

export interface AdapterCapabilities {
  /** The adapter keeps a ledger of every spend: the core then sends attributes and meta. */
  readonly ledger: boolean;
  /** Reservation expiry runs on the store's own clock, not the `now` the core sends. */
  readonly serverClock: boolean;
}

export type MaybePromise<T> = T | Promise<T>;

export interface StorageAdapter {
  readonly name: string;
  readonly capabilities: AdapterCapabilities;
  /** Called by every guard created on this adapter; with several guards the longest retention wins. */
  configure(settings: StoreSettings): void;
  /** Frees expired holds of the instances, checks every hard limit, then adds to all or none. */
  charge(request: ChargeRequest): MaybePromise<ChargeOutcome>;
  /** Commits or releases a reservation. */
  settle(request: SettleRequest): MaybePromise<SettleOutcome>;
  /** Up to `limit` feed facts from `from` on, oldest first. Optional for adapters without a feed. */
  feed?(request: FeedRequest): MaybePromise<FeedFact[]>;
  /** Settles and renews a holder's leased slices (guards created with `lease`). Optional for adapters without leases. */
  lease?(request: LeaseRequest): MaybePromise<LeaseOutcome>;
  /** Current totals (after freeing expired holds), changing nothing. `limitBefore` equals `limit`. */
  read(instances: readonly InstanceRef[], now: number): MaybePromise<Array<InstanceTotals | null>>;
  /**
   * Like read, but records each existing instance's current limit as the one its level was derived
   * from, returning the previous one as `limitBefore`: the step after a limit change. Creates nothing.
   */
  observe(instances: readonly InstanceRef[], now: number): MaybePromise<Array<InstanceTotals | null>>;
  /** `used` of one instance in each of the given periods (0 where there was no activity). */
  history(request: HistoryRequest): MaybePromise<number[]>;
  /** One page of the names of a rule's instances that had activity within the history retention. */
  instances(request: InstancePageRequest): MaybePromise<InstancePage>;
  limits(): MaybePromise<LimitsSnapshot>;
  setLimit(request: SetLimitRequest): MaybePromise<SetLimitOutcome>;
  /**
   * Stores a grant (compare-and-set on the limits version; a grant whose id is stored already answers
   * ok and changes nothing). Kept until it expires. Optional for adapters without grants.
   */
  grant?(request: GrantRequest): MaybePromise<SetLimitOutcome>;
  /**
   * Called by each guard's close(). An adapter shared by several guards releases what it owns (a file
   * it opened) only when the last of them closes; a client the caller passed in stays the caller's.
   */
  close(): MaybePromise<void>;
}
