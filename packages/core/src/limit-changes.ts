// setLimit, grants and allocation: run-time limits shared by every guard on a store. An override or a
// grant is written by an optimistic compare-and-set (allocations are re-checked against the latest
// overrides and grants), then the affected instances are observed, a page at a time, so that each
// level change is seen exactly once.
import { activeGrants } from './adapter/effective-limit.js';
import type { Grant, InstanceRef, InstanceTotals, LimitsSnapshot, StorageAdapter } from './adapter/spi.js';
import { type Allocation, allocationOf, assertAllocations } from './allocation.js';
import { SpendGuardError } from './errors.js';
import { activeGrantsByName, type GrantInfo, type GrantOptions, grantAmountOf, grantExpiryOf, grantInfo, grantReasonOf } from './grants.js';
import type { IdSource } from './ids.js';
import { escapeValue, instanceName, WILDCARD } from './instance-name.js';
import { fromMicros, MAX_AMOUNT, toMicros } from './money.js';
import { setOwn } from './own-record.js';
import { PAGE_SIZE, type Reads } from './reads.js';
import type { Resolver } from './resolver.js';
import type { Rule } from './rules.js';
import { fromStore } from './store-call.js';
import { isWellFormed } from './unicode.js';

const SET_LIMIT_ATTEMPTS = 20;
const MAX_MICROS = toMicros(MAX_AMOUNT);

export type ObservedStep = (rule: Rule, refs: readonly InstanceRef[], totals: ReadonlyArray<InstanceTotals | null>, now: number) => void;

export class LimitChanges {
  constructor(
    private readonly store: StorageAdapter,
    private readonly resolver: Resolver,
    private readonly reads: Reads,
    private readonly clock: () => number,
    private readonly ids: IdSource,
  ) {}

  async allocation(ruleId: string): Promise<Allocation> {
    const rule = this.resolver.ruleOf(ruleId);
    const snapshot = await fromStore(() => this.store.limits());
    return allocationOf(
      rule,
      this.resolver.rules,
      Object.fromEntries(snapshot.overrides),
      activeGrantsByName(snapshot.grants, this.clock()),
    );
  }

  /** The grants each instance has now, by name (for status()). */
  async activeGrants(now: number): Promise<Map<string, Grant[]>> {
    const { grants } = await fromStore(() => this.store.limits());
    return activeGrantsByName(grants, now);
  }

  /** Raises one instance's limit by `amount` until `expiresAt`, for every guard on the store. */
  async grant(budget: string, amount: number, options: GrantOptions | undefined, observed: ObservedStep): Promise<GrantInfo> {
    const { rule, key } = this.resolver.instanceOf(budget);
    const micros = grantAmountOf(amount);
    const reason = grantReasonOf(options);
    const start = this.clock();
    const expiresAt = grantExpiryOf(options, rule.period.at(start).end, start);
    const store = this.store;
    if (!store.grant) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `the '${store.name}' store adapter does not keep grants; use an adapter that does (memory, sqlite, redis, postgres).`,
      );
    }
    const write = store.grant.bind(store);
    const ref = this.resolver.refFor(rule, key, start);
    const grant: Grant = {
      id: this.ids.next('gr'),
      name: ref.name,
      amount: micros,
      expiresAt,
      grantedAt: start,
      ...(reason === undefined ? {} : { reason }),
    };
    const info = grantInfo(grant); // before the write: nothing that can throw comes after it
    for (let attempt = 0; attempt < SET_LIMIT_ATTEMPTS; attempt++) {
      const snapshot = await fromStore(() => store.limits());
      const now = this.clock();
      if (!snapshot.grants.some((g) => g.id === grant.id)) {
        // Checked on every attempt: the limits may have changed since the last one.
        this.assertGrantFits(budget, grant, ref, snapshot, now);
        const out = await fromStore(() => write({ grant, expectedVersion: snapshot.version, now }));
        if (!out.ok) continue; // another guard changed a limit meanwhile: check the allocation again
      }
      await this.observeAfterWrite(rule, key, observed);
      return info;
    }
    throw new SpendGuardError('STORE_UNAVAILABLE', `grant('${budget}') kept conflicting with concurrent limit changes; try again.`);
  }

  /** A grant needs a limit to raise, keeps it within MAX_AMOUNT, and fits its parent's unallocated part. */
  private assertGrantFits(budget: string, grant: Grant, ref: InstanceRef, snapshot: LimitsSnapshot, now: number): void {
    const overrides = Object.fromEntries(snapshot.overrides);
    const override = ref.limitKeys.find((name) => Object.hasOwn(overrides, name));
    if (override === undefined && ref.limit === null) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget '${budget}' has no limit to raise: its rule lists none for this key. Set one with setLimit('${ref.rule}', amount, key) first.`,
      );
    }
    const base = override === undefined ? (ref.limit as number) : (overrides[override] as number);
    const before = activeGrantsByName(snapshot.grants, now);
    const granted = activeGrants(before.get(grant.name), now) + grant.amount;
    // Effective limits stay within what every store adds exactly (Lua numbers are doubles).
    if (base + granted > MAX_MICROS) {
      throw new SpendGuardError(
        'INVALID_AMOUNT',
        `a grant of ${fromMicros(grant.amount)} would raise '${budget}' to ${fromMicros(base + granted)}, past ${MAX_AMOUNT}; grant less.`,
      );
    }
    const after = new Map(before);
    after.set(grant.name, [...(before.get(grant.name) ?? []), grant]);
    assertAllocations(this.resolver.rules, { overrides, grants: after }, { overrides, grants: before });
  }

  /** Changes a limit for every guard on the store; `observed` gets each affected instance's step. */
  async setLimit(ruleId: string, limit: number, key: string | undefined, observed: ObservedStep): Promise<void> {
    const rule = this.resolver.ruleOf(ruleId);
    const micros = toMicros(limit, 'limit');
    const instanceKey = this.instanceKeyOf(rule, key);
    const name = rule.per.length === 0 ? rule.id : instanceName(rule.id, instanceKey ?? WILDCARD);
    for (let attempt = 0; attempt < SET_LIMIT_ATTEMPTS; attempt++) {
      const snapshot = await fromStore(() => this.store.limits());
      const now = this.clock();
      const grants = activeGrantsByName(snapshot.grants, now);
      const before = Object.fromEntries(snapshot.overrides);
      const overrides = { ...before };
      setOwn(overrides, name, micros);
      assertAllocations(this.resolver.rules, { overrides, grants }, { overrides: before, grants });
      const out = await fromStore(() => this.store.setLimit({ name, limit: micros, expectedVersion: snapshot.version, now }));
      if (!out.ok) continue; // another guard changed a limit meanwhile: check the allocation again
      await this.observeAfterWrite(rule, instanceKey, observed);
      return;
    }
    throw new SpendGuardError('STORE_UNAVAILABLE', `setLimit('${ruleId}') kept conflicting with concurrent limit changes; try again.`);
  }

  /**
   * The change is written: a failure to re-read the instances must not report it as not made (a caller
   * would retry and grant twice). Each instance's next step reports the level change instead, as the
   * store still holds the limit its level was derived from.
   */
  private async observeAfterWrite(rule: Rule, key: string | undefined, observed: ObservedStep): Promise<void> {
    try {
      await this.observeAffected(rule, key, observed);
    } catch (err) {
      if (!(err instanceof SpendGuardError && err.code === 'STORE_UNAVAILABLE')) throw err;
    }
  }

  /** One step per page over the instances whose limit may have moved, so that their levels follow. */
  private async observeAffected(rule: Rule, key: string | undefined, observed: ObservedStep): Promise<void> {
    const observe = async (keys: Array<string | undefined>) => {
      const now = this.clock();
      const refs = keys.map((k) => this.resolver.refFor(rule, k, now));
      const totals = await fromStore(() => this.store.observe(refs, now));
      observed(rule, refs, totals, now);
    };
    if (rule.per.length === 0 || key !== undefined) return observe([key]);
    const prefix = rule.id.length + 1;
    for await (const page of this.reads.instancePages(rule)) {
      for (let at = 0; at < page.length; at += PAGE_SIZE) await observe(page.slice(at, at + PAGE_SIZE).map((n) => n.slice(prefix)));
    }
  }

  private instanceKeyOf(rule: Rule, key: unknown): string | undefined {
    if (key !== undefined && (typeof key !== 'string' || key.length === 0 || key.length > 256 || !isWellFormed(key))) {
      throw new SpendGuardError(
        'INVALID_ATTRIBUTES',
        `setLimit key must be a non-empty attribute value of well-formed Unicode, at most 256 characters; got ${JSON.stringify(key)}.`,
      );
    }
    if (rule.per.length === 0 && key !== undefined) {
      throw new SpendGuardError(
        'UNKNOWN_BUDGET',
        `budget '${rule.id}' has no 'per', so it has no key '${key}'. Call setLimit('${rule.id}', amount).`,
      );
    }
    if (rule.per.length > 0 && key === undefined && rule.allocatedFrom !== undefined) {
      throw new SpendGuardError(
        'INVALID_CONFIG',
        `budget '${rule.id}' is allocated from '${rule.allocatedFrom}', so it has no '*' default; name the key: setLimit('${rule.id}', amount, key).`,
      );
    }
    if (key === undefined) return undefined;
    return rule.per.length === 1 ? escapeValue(key) : key;
  }
}
