// setLimit and allocation: run-time limits shared by every guard on a store. The override is written
// by an optimistic compare-and-set (allocations are re-checked against the latest overrides), then the
// affected instances are observed, a page at a time, so that each level change is seen exactly once.
import type { InstanceRef, InstanceTotals, StorageAdapter } from './adapter/spi.js';
import { type Allocation, allocationOf, assertAllocations } from './allocation.js';
import { SpendGuardError } from './errors.js';
import { escapeValue, instanceName, WILDCARD } from './instance-name.js';
import { toMicros } from './money.js';
import { setOwn } from './own-record.js';
import { PAGE_SIZE, type Reads } from './reads.js';
import type { Resolver } from './resolver.js';
import type { Rule } from './rules.js';
import { fromStore } from './store-call.js';
import { isWellFormed } from './unicode.js';

const SET_LIMIT_ATTEMPTS = 20;

export type ObservedStep = (rule: Rule, refs: readonly InstanceRef[], totals: ReadonlyArray<InstanceTotals | null>, now: number) => void;

export class LimitChanges {
  constructor(
    private readonly store: StorageAdapter,
    private readonly resolver: Resolver,
    private readonly reads: Reads,
    private readonly clock: () => number,
  ) {}

  async allocation(ruleId: string): Promise<Allocation> {
    const rule = this.resolver.ruleOf(ruleId);
    const { overrides } = await fromStore(() => this.store.limits());
    return allocationOf(rule, this.resolver.rules, Object.fromEntries(overrides));
  }

  /** Changes a limit for every guard on the store; `observed` gets each affected instance's step. */
  async setLimit(ruleId: string, limit: number, key: string | undefined, observed: ObservedStep): Promise<void> {
    const rule = this.resolver.ruleOf(ruleId);
    const micros = toMicros(limit, 'limit');
    const instanceKey = this.instanceKeyOf(rule, key);
    const name = rule.per.length === 0 ? rule.id : instanceName(rule.id, instanceKey ?? WILDCARD);
    for (let attempt = 0; attempt < SET_LIMIT_ATTEMPTS; attempt++) {
      const snapshot = await fromStore(() => this.store.limits());
      const overrides = Object.fromEntries(snapshot.overrides);
      setOwn(overrides, name, micros);
      assertAllocations(this.resolver.rules, overrides);
      const now = this.clock();
      const out = await fromStore(() => this.store.setLimit({ name, limit: micros, expectedVersion: snapshot.version, now }));
      if (!out.ok) continue; // another guard changed a limit meanwhile: check the allocation again
      await this.observeAffected(rule, instanceKey, observed);
      return;
    }
    throw new SpendGuardError('STORE_UNAVAILABLE', `setLimit('${ruleId}') kept conflicting with concurrent limit changes; try again.`);
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
