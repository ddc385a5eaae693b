import { runConformanceSuite } from '@spendguard/core/testing';
import { type MemoryAdapter, memoryAdapter } from './memory-adapter.js';

/** Every record the adapter holds, the entries of its queues included. */
function memoryFootprint(adapter: MemoryAdapter): number {
  const s = adapter.stats();
  return s.instances + s.totals + s.listed + s.reservations + s.idempotencyKeys + s.grants + s.queued;
}

runConformanceSuite('memoryAdapter', {
  create: (options) => memoryAdapter(options),
  footprint: (adapter) => memoryFootprint(adapter as MemoryAdapter),
  scale: { keys: 200_000, instances: 200_000 },
});
