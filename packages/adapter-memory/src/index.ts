// @spendguard/adapter-memory: budgets held in this process's memory.
export { type MemoryAdapter, type MemoryAdapterOptions, memoryAdapter } from './memory-adapter.js';
export type { MemoryStats } from './memory-records.js';
