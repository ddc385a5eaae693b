// memoryAdapter(): the StorageAdapter for one process. Every operation is one synchronous function
// with no await inside, so JavaScript's single thread makes it atomic.
import { createRecordAdapter, type StorageAdapter } from '@spendguard/core/adapter';
import { type MemoryStats, memoryRecords } from './memory-records.js';

export interface MemoryAdapterOptions {
  /** Shown in errors and benchmark tables. */
  name?: string;
  /** How long a period's totals stay readable after the period ends (ms). Default two years. */
  historyRetentionMs?: number;
}

export interface MemoryAdapter extends StorageAdapter {
  /** How many records the store holds now (every one is forgotten after its retention). */
  stats(): MemoryStats;
}

export function memoryAdapter(options: MemoryAdapterOptions = {}): MemoryAdapter {
  const records = memoryRecords();
  const adapter = createRecordAdapter({
    name: options.name ?? 'memory',
    records,
    atomic: (body) => body(),
    ...(options.historyRetentionMs === undefined ? {} : { historyRetentionMs: options.historyRetentionMs }),
  });
  return Object.assign(adapter, { stats: records.stats });
}
