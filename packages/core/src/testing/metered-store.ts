// A store wrapper for the growth tests: it records how much each whole-rule store step asked for,
// and lets a test run code just before or after a step (to interleave another guard's calls).
import type { InstancePageRequest, InstanceRef, StorageAdapter } from '../adapter/spi.js';

export interface StepLog {
  /** Every step in call order: the wrapper's tag, the method, its size (refs, or names returned). */
  steps: Array<{ store: string; method: 'read' | 'observe' | 'instances' | 'charge' | 'settle'; size: number }>;
  /** The largest size seen per method. */
  largest: { read: number; observe: number; instancesAsked: number; instancesReturned: number };
}

export interface Metered {
  store: StorageAdapter;
  log: StepLog;
  /** Runs around each observe step, e.g. another guard's spends; `when` says which side. */
  aroundObserve?: (refs: readonly InstanceRef[], when: 'before' | 'after') => Promise<void>;
}

export function newStepLog(): StepLog {
  return { steps: [], largest: { read: 0, observe: 0, instancesAsked: 0, instancesReturned: 0 } };
}

/**
 * Wraps `store`: every call goes through unchanged; the whole-rule ones and the writes are logged
 * into `log` (which several wrappers may share) under `tag`.
 */
export function metered(store: StorageAdapter, log: StepLog = newStepLog(), tag = ''): Metered {
  const out: Metered = { store, log };
  const note = (method: StepLog['steps'][number]['method'], size: number) => log.steps.push({ store: tag, method, size });
  const wrapped: Partial<StorageAdapter> = {
    charge: (request) => {
      note('charge', request.instances.length);
      return store.charge(request);
    },
    settle: (request) => {
      note('settle', 1);
      return store.settle(request);
    },
    read: (refs, now) => {
      note('read', refs.length);
      log.largest.read = Math.max(log.largest.read, refs.length);
      return store.read(refs, now);
    },
    async observe(refs, now) {
      await out.aroundObserve?.(refs, 'before');
      note('observe', refs.length);
      log.largest.observe = Math.max(log.largest.observe, refs.length);
      const totals = await store.observe(refs, now);
      await out.aroundObserve?.(refs, 'after');
      return totals;
    },
    async instances(request: InstancePageRequest) {
      const page = await store.instances(request);
      note('instances', page.names.length);
      log.largest.instancesAsked = Math.max(log.largest.instancesAsked, request.limit);
      log.largest.instancesReturned = Math.max(log.largest.instancesReturned, page.names.length);
      return page;
    },
  };
  // A proxy, so that whatever else an adapter offers (its own methods, later SPI ones) goes through.
  const wrapper = new Proxy(store, {
    get(target, prop) {
      if (Object.hasOwn(wrapped, prop)) return wrapped[prop as keyof StorageAdapter];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  out.store = wrapper;
  return out;
}
