// createSpendGuard: the public engine. Resolves rules to budget instances, runs one atomic store step
// per call, and derives every event from the before/after totals that step returned.
import { EventEmitter } from 'eventemitter3';
import { type Allocation, allocationOf, assertAllocations } from './allocation.js';
import { SpendGuardError } from './errors.js';
import type { SpendGuardEvents } from './events.js';
import { IdSource } from './ids.js';
import { escapeValue, instanceName, parseInstanceName, WILDCARD } from './instance-name.js';
import { Journal, type JournalEntry } from './journal.js';
import { type LevelContext, levelChange, resetTransition } from './level-changes.js';
import { LevelStepper } from './machine.js';
import { fromMicros, toMicros } from './money.js';
import { type Period, previousPeriod, toIso } from './period.js';
import {
  type Attributes,
  type BudgetDefinition,
  compileRules,
  configuredLimit,
  limitKeys,
  matchRule,
  type Rule,
  validateAttributes,
} from './rules.js';
import { type BudgetStatus, pacingOf, remainingOf, statusOf } from './status.js';
import type { ChargeOutcome, ChargeRequest, InstanceRef, InstanceTotals, LedgerEntry, StorageAdapter } from './store.js';
import { levelFor } from './thresholds.js';

export interface SpendGuardOptions {
  store: StorageAdapter;
  budgets: BudgetDefinition[];
  /** The clock (ms since epoch). Injected in tests; defaults to Date.now. */
  clock?: () => number;
  /** 'deny' (default): an unreachable store refuses. 'allow': admit, journal locally, replay later. */
  onStoreError?: 'deny' | 'allow';
  /** How many admitted calls the local journal holds while the store is down; then it fails closed. */
  journalLimit?: number;
  /** How often the journal retries the store (ms). */
  replayIntervalMs?: number;
  /** How long idempotency keys and settled reservations are remembered (ms). Default 24 h. */
  retentionMs?: number;
}

export interface CallOptions {
  idempotencyKey?: string;
  /** reserve only: how long the reservation holds its amount (ms). Default 600 000. */
  ttlMs?: number;
  meta?: Record<string, string | number>;
}

export type Refusal = {
  allowed: false;
  reason: 'limit_exceeded' | 'no_budget';
  budget: string;
  remaining: number;
  requested: number;
};

export type SpendResult = { allowed: true; spendId: string; remaining: Record<string, number> } | Refusal;
export type ReserveResult = { allowed: true; reservationId: string; expiresAt: number; remaining: Record<string, number> } | Refusal;
export interface CommitResult {
  spendId: string;
  actual: number;
  reserved: number;
  overage: number;
  expired: boolean;
}
export interface CheckResult {
  allowed: boolean;
  budget?: string;
  pacing: Record<string, { dailyBudget: number; todayUsed: number; overPace: boolean }>;
}
export interface HistoryEntry {
  period: string;
  start: string;
  end: string;
  used: number;
}

export const DEFAULT_TTL_MS = 600_000;
const DEFAULT_RETENTION_MS = 86_400_000;
const MAX_TTL_MS = 30 * 86_400_000;
const MAX_HISTORY_PERIODS = 1000;
const SET_LIMIT_ATTEMPTS = 20;

interface InstanceParts {
  id: string;
  limit: number | null;
  limitKeys: readonly string[];
}

/** Instances remembered per rule; past this the cache starts over (keyed rules may have millions). */
const PARTS_CACHE_LIMIT = 10_000;

interface Resolved {
  refs: InstanceRef[];
  rules: Rule[];
}

export class SpendGuard extends EventEmitter<SpendGuardEvents> {
  private readonly store: StorageAdapter;
  private readonly rules: Rule[];
  private readonly rulesById = new Map<string, Rule>();
  private readonly steppers = new Map<string, LevelStepper>();
  private readonly partsCache = new Map<Rule, Map<string, InstanceParts>>();
  private readonly clock: () => number;
  private readonly ids = new IdSource();
  private readonly allowOnStoreError: boolean;
  private readonly retentionMs: number;
  private readonly journal: Journal;
  private readonly replayIntervalMs: number;
  private replayTimer: ReturnType<typeof setInterval> | undefined;
  private replaying: Promise<void> | undefined;
  private closed = false;

  constructor(options: SpendGuardOptions) {
    super();
    if (!options || typeof options !== 'object') throw new SpendGuardError('INVALID_CONFIG', 'createSpendGuard needs { store, budgets }.');
    const { store } = options;
    if (!store || typeof store.charge !== 'function') {
      throw new SpendGuardError('INVALID_CONFIG', 'store must be a storage adapter, e.g. memoryAdapter() from @spendguard/adapter-memory.');
    }
    this.store = store;
    this.rules = compileRules(options.budgets);
    for (const rule of this.rules) {
      this.rulesById.set(rule.id, rule);
      this.steppers.set(rule.id, new LevelStepper(rule.thresholds));
    }
    assertAllocations(this.rules, {});
    this.clock = options.clock ?? Date.now;
    if (options.onStoreError !== undefined && options.onStoreError !== 'deny' && options.onStoreError !== 'allow') {
      throw new SpendGuardError('INVALID_CONFIG', `onStoreError must be 'deny' or 'allow'; got ${JSON.stringify(options.onStoreError)}.`);
    }
    this.allowOnStoreError = options.onStoreError === 'allow';
    this.retentionMs = positiveInt(options.retentionMs, DEFAULT_RETENTION_MS, 'retentionMs');
    this.journal = new Journal(positiveInt(options.journalLimit, 10_000, 'journalLimit'));
    this.replayIntervalMs = positiveInt(options.replayIntervalMs, 1000, 'replayIntervalMs');
  }

  // ── spending ────────────────────────────────────────────────────────────

  spend(attrs: Attributes, amount: number, opts?: CallOptions): Promise<SpendResult> {
    return this.charge('spend', attrs, amount, opts) as Promise<SpendResult>;
  }

  reserve(attrs: Attributes, estimate: number, opts?: CallOptions): Promise<ReserveResult> {
    return this.charge('reserve', attrs, estimate, opts) as Promise<ReserveResult>;
  }

  private async charge(
    kind: 'spend' | 'reserve',
    attrs: Attributes,
    amount: number,
    opts: CallOptions | undefined,
  ): Promise<SpendResult | ReserveResult> {
    this.assertOpen();
    validateAttributes(attrs);
    const micros = toMicros(amount);
    const now = this.clock();
    const ttlMs = kind === 'reserve' ? ttlOf(opts?.ttlMs) : undefined;
    const idempotencyKey = idempotencyKeyOf(opts?.idempotencyKey);
    const resolved = this.resolve(attrs, now);
    const id = this.ids.next(kind === 'spend' ? 'sp' : 'rs');
    const ledger = this.store.ledger ? ledgerOf(attrs, opts?.meta) : undefined;
    let outcome: ChargeOutcome;
    try {
      const request: ChargeRequest = { kind, id, instances: resolved.refs, amount: micros, now, retentionMs: this.retentionMs };
      if (ttlMs !== undefined) request.ttlMs = ttlMs;
      if (idempotencyKey !== undefined) request.idempotencyKey = idempotencyKey;
      if (ledger !== undefined) request.ledger = ledger;
      const pending = this.store.charge(request);
      outcome = pending instanceof Promise ? await pending : pending;
    } catch (err) {
      return this.chargeOffline(kind, id, resolved, micros, now, ttlMs, idempotencyKey, ledger, err);
    }
    if (!outcome.ok) {
      const refusedRef = resolved.refs[outcome.refusedAt] as InstanceRef;
      const t = outcome.totals[outcome.refusedAt];
      const refusal: Refusal = {
        allowed: false,
        reason: outcome.missing ? 'no_budget' : 'limit_exceeded',
        budget: refusedRef.id,
        remaining: t ? fromMicros(remainingOf(t)) : 0,
        requested: amount,
      };
      this.emit('denied', {
        budget: refusal.budget,
        reason: refusal.reason,
        requested: amount,
        remaining: refusal.remaining,
        attrs: { ...attrs },
      });
      return refusal;
    }
    const remaining: Record<string, number> = {};
    for (let i = 0; i < resolved.refs.length; i++) {
      const t = outcome.totals[i];
      if (!t) continue;
      const ref = resolved.refs[i] as InstanceRef;
      remaining[ref.id] = fromMicros(remainingOf(t));
      if (!outcome.replayed) this.emitChanges(resolved.rules[i] as Rule, ref, t, now);
    }
    if (kind === 'spend') return { allowed: true, spendId: outcome.id, remaining };
    return { allowed: true, reservationId: outcome.id, expiresAt: outcome.expiresAt as number, remaining };
  }

  async commit(reservationId: string, actual: number): Promise<CommitResult> {
    this.assertOpen();
    reservationIdOf(reservationId);
    const micros = toMicros(actual, 'actual');
    const now = this.clock();
    const local = this.journal.localReservations.get(reservationId);
    if (local) return this.commitLocal(reservationId, local, micros, now);
    const spendId = this.ids.next('sp');
    let outcome: Awaited<ReturnType<StorageAdapter['settle']>>;
    try {
      outcome = await this.store.settle({ action: 'commit', reservationId, amount: micros, spendId, now, retentionMs: this.retentionMs });
    } catch (err) {
      if (!this.allowOnStoreError || this.journal.full) throw storeUnavailable(err);
      this.journalPush({ kind: 'settle', action: 'commit', reservationId, spendId, amount: micros });
      return { spendId, actual, reserved: 0, overage: 0, expired: false };
    }
    switch (outcome.status) {
      case 'unknown':
        throw unknownReservation(reservationId);
      case 'released_before':
        throw new SpendGuardError(
          'UNKNOWN_RESERVATION',
          `reservation '${reservationId}' was released and cannot be committed. Record the cost with spend() instead.`,
        );
      case 'committed_before':
        return {
          spendId: outcome.spendId,
          actual: fromMicros(outcome.actual),
          reserved: fromMicros(outcome.reserved),
          overage: fromMicros(Math.max(0, outcome.actual - outcome.reserved)),
          expired: outcome.expired,
        };
    }
    const reserved = outcome.reserved;
    outcome.instances.forEach((ref, i) => {
      const t = outcome.totals[i];
      const rule = this.rulesById.get(parseInstanceName(ref.id).ruleId);
      if (!t || !rule) return;
      this.emitChanges(rule, ref, t, now);
      if (micros > reserved) {
        this.emit('overage', { budget: ref.id, reservationId, reserved: fromMicros(reserved), actual: fromMicros(micros) });
      }
    });
    return {
      spendId,
      actual: fromMicros(micros),
      reserved: fromMicros(reserved),
      overage: fromMicros(Math.max(0, micros - reserved)),
      expired: outcome.expired,
    };
  }

  async release(reservationId: string): Promise<void> {
    this.assertOpen();
    reservationIdOf(reservationId);
    if (this.journal.localReservations.delete(reservationId)) return;
    const now = this.clock();
    let outcome: Awaited<ReturnType<StorageAdapter['settle']>>;
    try {
      outcome = await this.store.settle({ action: 'release', reservationId, amount: 0, spendId: '', now, retentionMs: this.retentionMs });
    } catch (err) {
      if (!this.allowOnStoreError || this.journal.full) throw storeUnavailable(err);
      this.journalPush({ kind: 'settle', action: 'release', reservationId, spendId: '', amount: 0 });
      return;
    }
    if (outcome.status === 'unknown') throw unknownReservation(reservationId);
    if (outcome.status === 'committed_before') {
      throw new SpendGuardError(
        'UNKNOWN_RESERVATION',
        `reservation '${reservationId}' was already committed; there is nothing left to release.`,
      );
    }
  }

  // ── reading ─────────────────────────────────────────────────────────────

  async check(attrs: Attributes, amount: number): Promise<CheckResult> {
    this.assertOpen();
    validateAttributes(attrs);
    const micros = toMicros(amount);
    const now = this.clock();
    const { refs, rules } = this.resolve(attrs, now);
    const totals = await this.read(refs, now);
    const result: CheckResult = { allowed: true, pacing: {} };
    refs.forEach((ref, i) => {
      const t = totals[i];
      if (ref.hard && (!t || t.used + t.reserved + micros > t.limit) && result.allowed) {
        result.allowed = false;
        result.budget = ref.id;
      }
      if (t) {
        const rule = rules[i] as Rule;
        result.pacing[ref.id] = pacingOf(rule, rule.period.at(now), t, now);
      }
    });
    return result;
  }

  status(budget: string): Promise<BudgetStatus>;
  status(): Promise<BudgetStatus[]>;
  async status(budget?: string): Promise<BudgetStatus | BudgetStatus[]> {
    this.assertOpen();
    const now = this.clock();
    if (budget !== undefined) {
      const { rule, key } = this.instanceOf(budget);
      const ref = this.refFor(rule, key, now);
      const [t] = await this.read([ref], now);
      if (!t)
        throw new SpendGuardError(
          'UNKNOWN_BUDGET',
          `budget '${budget}' has no limit: its rule lists no limit for '${key}' and no '*'. Set one with setLimit('${rule.id}', amount, key).`,
        );
      return statusOf(rule, budget, key, configuredLimit(rule.softLimit ?? EMPTY, key), rule.period.at(now), t, now);
    }
    const names = new Set(this.rules.filter((r) => r.per.length === 0).map((r) => r.id));
    for (const name of await this.fromStore(() => this.store.instances())) {
      const { ruleId, key } = parseInstanceName(name);
      const rule = this.rulesById.get(ruleId);
      if (rule && rule.per.length > 0 === (key !== undefined)) names.add(name);
    }
    const entries = [...names].sort().map((name) => {
      const { ruleId, key } = parseInstanceName(name);
      const rule = this.rulesById.get(ruleId) as Rule;
      return { name, rule, key, ref: this.refFor(rule, key, now) };
    });
    const totals = await this.read(
      entries.map((e) => e.ref),
      now,
    );
    const statuses: BudgetStatus[] = [];
    entries.forEach((e, i) => {
      const t = totals[i];
      if (t)
        statuses.push(statusOf(e.rule, e.name, e.key, configuredLimit(e.rule.softLimit ?? EMPTY, e.key), e.rule.period.at(now), t, now));
    });
    return statuses;
  }

  async history(budget: string, options: { periods: number } = { periods: 12 }): Promise<HistoryEntry[]> {
    this.assertOpen();
    const n = options?.periods;
    if (!Number.isInteger(n) || n < 1 || n > MAX_HISTORY_PERIODS) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `history needs { periods } as a whole number from 1 to ${MAX_HISTORY_PERIODS}; got ${String(n)}.`,
      );
    }
    const { rule } = this.instanceOf(budget);
    const list: Period[] = [rule.period.at(this.clock())];
    while (list.length < n && list[0]?.key !== 'all') list.unshift(previousPeriod(rule.period.spec, list[0] as Period));
    const used = await this.fromStore(() => this.store.history({ id: budget, periods: list.map((p) => p.key) }));
    return list.map((p, i) => ({ period: p.key, start: toIso(p.start), end: toIso(p.end), used: fromMicros(used[i] ?? 0) }));
  }

  async allocation(ruleId: string): Promise<Allocation> {
    this.assertOpen();
    const rule = this.ruleOf(ruleId);
    const { overrides } = await this.fromStore(() => this.store.limits());
    return allocationOf(rule, this.rules, overrides);
  }

  // ── limits ──────────────────────────────────────────────────────────────

  /**
   * Changes a limit at run time for every guard sharing the store. `key` names one instance of a
   * keyed rule (its attribute value); without it a keyed rule's default ('*') changes.
   */
  async setLimit(ruleId: string, limit: number, key?: string): Promise<void> {
    this.assertOpen();
    const rule = this.ruleOf(ruleId);
    const micros = toMicros(limit, 'limit');
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256)) {
      throw new SpendGuardError(
        'INVALID_ATTRIBUTES',
        `setLimit key must be a non-empty attribute value of at most 256 characters; got ${JSON.stringify(key)}.`,
      );
    }
    if (rule.per.length === 0 && key !== undefined) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget '${ruleId}' has no 'per', so it has no key '${key}'. Call setLimit('${ruleId}', amount).`,
      );
    }
    if (rule.per.length > 0 && key === undefined && rule.allocatedFrom !== undefined) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `budget '${ruleId}' is allocated from '${rule.allocatedFrom}', so it has no '*' default; name the key: setLimit('${ruleId}', amount, key).`,
      );
    }
    const instanceKey = key === undefined ? undefined : rule.per.length === 1 ? escapeValue(key) : key;
    const name = rule.per.length === 0 ? rule.id : instanceName(rule.id, instanceKey ?? WILDCARD);
    for (let attempt = 0; attempt < SET_LIMIT_ATTEMPTS; attempt++) {
      const now = this.clock();
      const snapshot = await this.fromStore(() => this.store.limits());
      assertAllocations(this.rules, { ...snapshot.overrides, [name]: micros });
      const affected = await this.affectedBy(rule, instanceKey);
      const refs = affected.map((k) => this.refFor(rule, k, now));
      const out = await this.fromStore(() =>
        this.store.setLimit({ name, limit: micros, expectedVersion: snapshot.version, read: refs, now }),
      );
      if (!out.ok) continue; // another guard changed a limit meanwhile: re-check the allocation
      refs.forEach((ref, i) => {
        const t = out.totals[i];
        const before = out.limitsBefore[i];
        if (!t || before === null || before === undefined) return;
        const change = levelChange(this.levelContext(rule, ref, now), t.used, before, t.used, t.limit);
        this.emitChange(change);
      });
      return;
    }
    throw new SpendGuardError('STORE_UNAVAILABLE', `setLimit('${ruleId}') kept conflicting with concurrent limit changes; try again.`);
  }

  /** Writes journalled spends to the store now (they are also retried on a timer). */
  async flush(): Promise<void> {
    if (!this.replaying) {
      this.replaying = this.replayJournal().finally(() => {
        this.replaying = undefined;
      });
    }
    return this.replaying;
  }

  /** How many admitted calls wait in the local journal for the store. */
  get pendingJournal(): number {
    return this.journal.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    if (this.journal.entries.length > 0) await this.flush().catch(() => {});
    this.closed = true;
    if (this.replayTimer) clearInterval(this.replayTimer);
    this.removeAllListeners();
    await this.store.close();
  }

  // ── internals ───────────────────────────────────────────────────────────

  private assertOpen(): void {
    if (this.closed) throw new SpendGuardError('INVALID_CONFIG', 'this guard was closed; create a new one with createSpendGuard().');
  }

  private ruleOf(ruleId: string): Rule {
    const rule = typeof ruleId === 'string' ? this.rulesById.get(ruleId) : undefined;
    if (!rule) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `no budget rule '${String(ruleId)}'; declared rules: ${[...this.rulesById.keys()].join(', ')}.`,
      );
    }
    return rule;
  }

  private instanceOf(budget: string): { rule: Rule; key?: string } {
    if (typeof budget !== 'string')
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget must be an instance name like 'monthly' or 'project:api'; got ${String(budget)}.`,
      );
    const { ruleId, key } = parseInstanceName(budget);
    const rule = this.ruleOf(ruleId);
    if (rule.per.length > 0 !== (key !== undefined) || key === '' || key === WILDCARD) {
      const example = rule.per.length > 0 ? `'${rule.id}:<${rule.per.join(',')}>'` : `'${rule.id}'`;
      throw new SpendGuardError('UNKNOWN_BUDGET', `'${budget}' is not an instance of budget '${rule.id}'; name it as ${example}.`);
    }
    return key === undefined ? { rule } : { rule, key };
  }

  /**
   * The per-instance parts of a ref, cached so that every call for one instance passes the same
   * string objects: stores key maps by them, and a fresh string would be hashed again on each call.
   */
  private instanceParts(rule: Rule, key: string | undefined): InstanceParts {
    let cache = this.partsCache.get(rule);
    if (!cache) {
      cache = new Map();
      this.partsCache.set(rule, cache);
    }
    const cacheKey = key ?? '';
    let parts = cache.get(cacheKey);
    if (!parts) {
      if (cache.size >= PARTS_CACHE_LIMIT) cache.clear();
      parts = { id: instanceName(rule.id, key), limit: configuredLimit(rule.limit, key), limitKeys: limitKeys(rule, key) };
      cache.set(cacheKey, parts);
    }
    return parts;
  }

  private refFor(rule: Rule, key: string | undefined, now: number): InstanceRef {
    const parts = this.instanceParts(rule, key);
    const period = rule.period.at(now);
    return {
      id: parts.id,
      period: period.key,
      day: rule.day.at(now).key,
      periodEnd: period.key === 'all' ? 0 : period.end,
      limit: parts.limit,
      limitKeys: parts.limitKeys,
      hard: rule.hard,
    };
  }

  private resolve(attrs: Attributes, now: number): Resolved {
    const refs: InstanceRef[] = [];
    const rules: Rule[] = [];
    for (const rule of this.rules) {
      const key = matchRule(rule, attrs);
      if (key === null) continue;
      refs.push(this.refFor(rule, key, now));
      rules.push(rule);
    }
    return { refs, rules };
  }

  /** Instances whose level a limit change can move: the named one, or every active one of a rule. */
  private async affectedBy(rule: Rule, key: string | undefined): Promise<Array<string | undefined>> {
    if (rule.per.length === 0) return [undefined];
    if (key !== undefined) return [key];
    const prefix = `${rule.id}:`;
    const names = await this.fromStore(() => this.store.instances());
    return names.filter((n) => n.startsWith(prefix)).map((n) => n.slice(prefix.length));
  }

  private read(refs: InstanceRef[], now: number): Promise<Array<InstanceTotals | null>> {
    return this.fromStore(() => this.store.read(refs, now));
  }

  private async fromStore<T>(call: () => T | Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw storeUnavailable(err);
    }
  }

  private levelContext(rule: Rule, ref: InstanceRef, now: number): LevelContext {
    const key = parseInstanceName(ref.id).key;
    return {
      budget: ref.id,
      period: ref.period,
      thresholds: rule.thresholds,
      stepper: this.steppers.get(rule.id) as LevelStepper,
      softLimit: rule.softLimit ? configuredLimit(rule.softLimit, key) : null,
      at: now,
    };
  }

  private emitChanges(rule: Rule, ref: InstanceRef, t: InstanceTotals, now: number): void {
    if (t.previous) {
      const ctx = this.levelContext(rule, ref, now);
      this.emit('reset', { budget: ref.id, period: ref.period, previous: { key: t.previous.period, used: fromMicros(t.previous.used) } });
      const back = resetTransition(ctx, t.previous.used, t.limit);
      if (back) this.emit('transition', back);
    }
    if (t.used === t.usedBefore) return;
    // Fast path: most calls move no level and pass no soft limit; build nothing for them.
    if (!rule.softLimit && levelFor(t.usedBefore, t.limit, rule.thresholds) === levelFor(t.used, t.limit, rule.thresholds)) return;
    this.emitChange(levelChange(this.levelContext(rule, ref, now), t.usedBefore, t.limit, t.used, t.limit));
  }

  private emitChange(change: ReturnType<typeof levelChange>): void {
    if (!change) return;
    if (change.transition) this.emit('transition', change.transition);
    for (const alert of change.alerts) this.emit('alert', alert);
  }

  // ── offline journal (onStoreError: 'allow') ────────────────────────────

  private chargeOffline(
    kind: 'spend' | 'reserve',
    id: string,
    resolved: Resolved,
    micros: number,
    now: number,
    ttlMs: number | undefined,
    idempotencyKey: string | undefined,
    ledger: LedgerEntry | undefined,
    err: unknown,
  ): SpendResult | ReserveResult {
    if (!this.allowOnStoreError || this.journal.full) throw storeUnavailable(err);
    if (kind === 'spend') {
      this.journalPush({
        kind: 'spend',
        id,
        instances: resolved.refs,
        amount: micros,
        idempotencyKey: idempotencyKey ?? `journal:${id}`,
        ...(ledger ? { ledger } : {}),
      });
      return { allowed: true, spendId: id, remaining: {} };
    }
    const expiresAt = now + (ttlMs ?? DEFAULT_TTL_MS);
    this.journal.localReservations.set(id, { instances: resolved.refs, amount: micros, expiresAt });
    return { allowed: true, reservationId: id, expiresAt, remaining: {} };
  }

  private commitLocal(
    reservationId: string,
    local: { instances: readonly InstanceRef[]; amount: number; expiresAt: number },
    micros: number,
    now: number,
  ): CommitResult {
    this.journal.localReservations.delete(reservationId);
    const spendId = this.ids.next('sp');
    this.journalPush({ kind: 'spend', id: spendId, instances: local.instances, amount: micros, idempotencyKey: `journal:${spendId}` });
    return {
      spendId,
      actual: fromMicros(micros),
      reserved: fromMicros(local.amount),
      overage: fromMicros(Math.max(0, micros - local.amount)),
      expired: now >= local.expiresAt,
    };
  }

  private journalPush(entry: JournalEntry): void {
    this.journal.push(entry);
    if (!this.replayTimer) {
      this.replayTimer = setInterval(() => void this.flush().catch(() => {}), this.replayIntervalMs);
      this.replayTimer.unref?.();
    }
  }

  private async replayJournal(): Promise<void> {
    const entries = this.journal.entries;
    while (entries.length > 0) {
      const entry = entries[0] as JournalEntry;
      const now = this.clock();
      if (entry.kind === 'spend') {
        const out = await this.fromStore(() =>
          this.store.charge({
            kind: 'spend',
            id: entry.id,
            instances: entry.instances,
            amount: entry.amount,
            now,
            force: true,
            idempotencyKey: entry.idempotencyKey,
            retentionMs: this.retentionMs,
            ...(entry.ledger ? { ledger: entry.ledger } : {}),
          }),
        );
        if (out.ok && !out.replayed) {
          entry.instances.forEach((ref, i) => {
            const t = out.totals[i];
            const rule = this.rulesById.get(parseInstanceName(ref.id).ruleId);
            if (t && rule) this.emitChanges(rule, ref, t, now);
          });
        }
      } else {
        await this.fromStore(() =>
          this.store.settle({
            action: entry.action,
            reservationId: entry.reservationId,
            amount: entry.amount,
            spendId: entry.spendId,
            now,
            retentionMs: this.retentionMs,
          }),
        );
      }
      entries.shift();
    }
    if (this.replayTimer && this.journal.localReservations.size === 0) {
      clearInterval(this.replayTimer);
      this.replayTimer = undefined;
    }
  }
}

const EMPTY = { byKey: new Map<string, number>(), fallback: null };

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0)
    throw new SpendGuardError('INVALID_CONFIG', `${name} must be a positive whole number; got ${String(value)}.`);
  return value;
}

function ttlOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return DEFAULT_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `ttlMs must be a whole number of milliseconds from 1 to ${MAX_TTL_MS}; got ${String(ttlMs)}.`,
    );
  }
  return ttlMs;
}

function idempotencyKeyOf(key: string | undefined): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > 256) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `idempotencyKey must be a non-empty string of at most 256 characters; got ${JSON.stringify(key)}.`,
    );
  }
  return key;
}

function reservationIdOf(id: string): void {
  if (typeof id !== 'string' || id.length === 0) throw unknownReservation(String(id));
}

function ledgerOf(attrs: Attributes, meta: CallOptions['meta']): LedgerEntry {
  return meta === undefined ? { attrs: { ...attrs } } : { attrs: { ...attrs }, meta: { ...meta } };
}

function unknownReservation(id: string): SpendGuardError {
  return new SpendGuardError(
    'UNKNOWN_RESERVATION',
    `no reservation '${id}' is known: it was never made by a guard on this store, or it was settled longer ago than the retention window. Use the reservationId that reserve() returned.`,
  );
}

function storeUnavailable(err: unknown): SpendGuardError {
  if (err instanceof SpendGuardError) return err;
  const detail = err instanceof Error ? err.message : String(err);
  return new SpendGuardError(
    'STORE_UNAVAILABLE',
    `the budget store did not answer (${detail}); nothing was recorded. Retry later, or create the guard with onStoreError: 'allow' to admit and journal spends while the store is down.`,
    { cause: err },
  );
}

export function createSpendGuard(options: SpendGuardOptions): SpendGuard {
  return new SpendGuard(options);
}
