// A test double around a real guard: records every commit and release, and can make them fail as a
// store outage does. Used by this package's tests; not part of the public testing entry.
import { type SpendGuard, SpendGuardError } from '@spendguard/core';

export interface GuardSpy {
  guard: SpendGuard;
  /** Every settlement attempt, in order: 'commit <amount>' or 'release'. */
  calls: string[];
  /** How many of the next settlements fail with STORE_UNAVAILABLE (Infinity: all of them). */
  failNext: number;
}

export function spyGuard(real: SpendGuard, failNext = 0): GuardSpy {
  const spy: GuardSpy = { guard: real, calls: [], failNext };
  const fail = () => {
    if (spy.failNext <= 0) return;
    spy.failNext--;
    throw new SpendGuardError('STORE_UNAVAILABLE', 'the store did not answer (test double)');
  };
  spy.guard = new Proxy(real, {
    get(target, prop) {
      if (prop === 'commit')
        return async (id: string, amount: number) => {
          spy.calls.push(`commit ${amount}`);
          fail();
          return target.commit(id, amount);
        };
      if (prop === 'release')
        return async (id: string) => {
          spy.calls.push('release');
          fail();
          return target.release(id);
        };
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return spy;
}
