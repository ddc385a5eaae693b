// @spendguard/adapter-memory: budgets held in this process's memory.
export { type MemoryAdapterOptions, memoryAdapter } from './memory-adapter.js';
