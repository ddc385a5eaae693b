// Test support: counts the batch script calls an ioredis client sends, and the operations in each, by
// wrapping the command that defineScripts registered on it (the adapter looks it up on every call).
import type { Cluster, Redis } from 'ioredis';

export interface BatchSpy {
  /** Operations per batch script call, in the order they were sent. */
  sizes: number[];
}

export function spyOnBatches(client: Redis | Cluster): BatchSpy {
  const target = client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const names = Object.keys(target).filter((k) => k.startsWith('spendguard_batch_') && !k.endsWith('Buffer'));
  if (names.length === 0) throw new Error('no batch script is defined on this client: create the adapter first');
  const spy: BatchSpy = { sizes: [] };
  for (const name of names) {
    const original = target[name] as (...args: unknown[]) => Promise<unknown>;
    target[name] = function (this: unknown, ...args: unknown[]) {
      const keyCount = args[0] as number;
      spy.sizes.push((JSON.parse(String(args[1 + keyCount + 7])) as unknown[]).length); // ARGV[8]: the operations
      return original.apply(this, args);
    };
  }
  return spy;
}
