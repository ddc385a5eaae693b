// A store that tests can take down and bring back: while down, every step throws as an unreachable
// store would, and nothing reaches the store behind it.
import type { StorageAdapter } from '../adapter/spi.js';

const STEPS = new Set(['charge', 'settle', 'lease', 'read', 'observe', 'history', 'instances', 'limits', 'setLimit']);

export interface SwitchableStore {
  adapter: StorageAdapter;
  down(): void;
  up(): void;
}

export function switchable(inner: StorageAdapter): SwitchableStore {
  let isDown = false;
  const adapter = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof prop !== 'string' || !STEPS.has(prop) || typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (isDown) throw new Error('connection refused (the test took the store down)');
        return value.apply(target, args);
      };
    },
  });
  return {
    adapter,
    down: () => {
      isDown = true;
    },
    up: () => {
      isDown = false;
    },
  };
}
