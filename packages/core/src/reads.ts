// The reading side of a guard: check (a dry run with pacing), status of one or every instance, history.
// Whole-rule reads go through the store in bounded pages.
import type { Grant, InstanceRef, InstanceTotals, StorageAdapter } from './adapter/spi.js';
import { SpendGuardError } from './errors.js';
import { activeGrantsByName, grantInfo } from './grants.js';
import { instanceName } from './instance-name.js';
import { fromMicros, toMicros } from './money.js';
import { setOwn } from './own-record.js';
import { type Period, previousPeriod, toIso } from './period.js';
import { keyOfRef, type Resolver } from './resolver.js';
import { type Attributes, configuredLimit, type KeyedMicros, type Rule } from './rules.js';
import { type BudgetStatus, pacingOf, statusOf } from './status.js';
import { fromStore } from './store-call.js';

export interface CheckResult {
  allowed: boolean;
  /** The instance that would refuse. */
  budget?: string;
  pacing: Record<string, { dailyBudget: number; todayUsed: number; overPace: boolean }>;
}

export interface HistoryEntry {
  period: string;
  start: string;
  end: string;
  used: number;
}

/** Names and totals are read this many at a time: no store step grows with the number of instances. */
export const PAGE_SIZE = 500;
const MAX_HISTORY_PERIODS = 1000;
const NO_LIMITS: KeyedMicros = { byKey: new Map(), fallback: null };

export class Reads {
  constructor(
    private readonly store: StorageAdapter,
    private readonly resolver: Resolver,
  ) {}

  /** `held`: what the guard could admit on an instance out of its own leased slice, beside what is free. */
  async check(attrs: Attributes, amount: number, now: number, held?: (ref: InstanceRef) => number): Promise<CheckResult> {
    const micros = toMicros(amount);
    const { refs, rules } = this.resolver.resolve(attrs, now);
    const totals = await fromStore(() => this.store.read(refs, now));
    const result: CheckResult = { allowed: true, pacing: {} };
    refs.forEach((ref, i) => {
      const t = totals[i];
      if (ref.hard && result.allowed && (!t || t.used + t.reserved + micros > t.limit + (held ? held(ref) : 0))) {
        result.allowed = false;
        result.budget = ref.name;
      }
      if (t) {
        const rule = rules[i] as Rule;
        setOwn(result.pacing, ref.name, pacingOf(rule, rule.period.at(now), t, now));
      }
    });
    return result;
  }

  async statusOf(budget: string, now: number): Promise<BudgetStatus> {
    const { rule, key } = this.resolver.instanceOf(budget);
    const ref = this.resolver.refFor(rule, key, now);
    const [t] = await fromStore(() => this.store.read([ref], now));
    const grants = t ? await this.grantsAt(now) : undefined;
    if (!t) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget '${budget}' has no limit: its rule lists no limit for '${key}' and no '*'. Set one with setLimit('${rule.id}', amount, key).`,
      );
    }
    return this.toStatus(rule, ref, t, now, grants);
  }

  /** Active grants by instance name: one read of the store's limits, for a whole status(). */
  private async grantsAt(now: number): Promise<Map<string, Grant[]> | undefined> {
    if (!this.store.grant) return undefined;
    const { grants } = await fromStore(() => this.store.limits());
    return grants.length === 0 ? undefined : activeGrantsByName(grants, now);
  }

  /** Every instance: unkeyed rules, configured keys, and every keyed instance with activity. */
  async statusAll(now: number): Promise<BudgetStatus[]> {
    const statuses: BudgetStatus[] = [];
    const grants = await this.grantsAt(now);
    for (const rule of this.resolver.rules) {
      const keys = new Set<string | undefined>();
      if (rule.per.length === 0) keys.add(undefined);
      else {
        for (const key of rule.limit.byKey.keys()) keys.add(key);
        // An instance with a grant and no activity yet is there too.
        for (const name of grants?.keys() ?? []) if (name.startsWith(`${rule.id}:`)) keys.add(name.slice(rule.id.length + 1));
        for await (const page of this.instancePages(rule)) for (const name of page) keys.add(name.slice(rule.id.length + 1));
      }
      const refs = [...keys].map((key) => this.resolver.refFor(rule, key, now));
      for (let at = 0; at < refs.length; at += PAGE_SIZE) {
        const page = refs.slice(at, at + PAGE_SIZE);
        const totals = await fromStore(() => this.store.read(page, now));
        page.forEach((ref, i) => {
          const t = totals[i];
          if (t) statuses.push(this.toStatus(rule, ref, t, now, grants));
        });
      }
    }
    return statuses.sort((a, b) => (a.budget < b.budget ? -1 : a.budget > b.budget ? 1 : 0));
  }

  /** The names of a rule's instances with activity, a page at a time. */
  async *instancePages(rule: Rule): AsyncGenerator<string[]> {
    let cursor: string | undefined;
    do {
      const request = cursor === undefined ? { rule: rule.id, limit: PAGE_SIZE } : { rule: rule.id, cursor, limit: PAGE_SIZE };
      const page = await fromStore(() => this.store.instances(request));
      if (page.names.length > 0) yield page.names;
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  async history(budget: string, periods: unknown, now: number): Promise<HistoryEntry[]> {
    if (typeof periods !== 'number' || !Number.isInteger(periods) || periods < 1 || periods > MAX_HISTORY_PERIODS) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `history needs { periods } as a whole number from 1 to ${MAX_HISTORY_PERIODS}; got ${String(periods)}.`,
      );
    }
    const { rule, key } = this.resolver.instanceOf(budget);
    const list: Period[] = [rule.period.at(now)];
    while (list.length < periods && list[0]?.key !== 'all') list.unshift(previousPeriod(rule.period.spec, list[0] as Period));
    const instance = instanceName(rule.id, key);
    const used = await fromStore(() => this.store.history({ instance, periods: list.map((p) => p.key) }));
    return list.map((p, i) => ({ period: p.key, start: toIso(p.start), end: toIso(p.end), used: fromMicros(used[i] ?? 0) }));
  }

  private toStatus(rule: Rule, ref: InstanceRef, t: InstanceTotals, now: number, grants?: Map<string, Grant[]>): BudgetStatus {
    const key = keyOfRef(ref);
    const soft = configuredLimit(rule.softLimit ?? NO_LIMITS, key);
    const listed = grants?.get(ref.name)?.map(grantInfo) ?? [];
    return statusOf(rule, ref.name, key, soft, rule.period.at(now), t, now, listed);
  }
}
