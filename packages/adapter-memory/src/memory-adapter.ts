// memoryAdapter(): the StorageAdapter for one process. Every operation is one synchronous function
// with no await inside, so JavaScript's single thread makes it atomic.
import { createRecordAdapter, type StorageAdapter } from '@spendguard/core/adapter';
import { memoryRecords } from './memory-records.js';

export interface MemoryAdapterOptions {
  /** Shown in errors and benchmark tables. */
  name?: string;
  /** How long a period's totals stay readable after the period ends (ms). Default two years. */
  historyRetentionMs?: number;
}

export function memoryAdapter(options: MemoryAdapterOptions = {}): StorageAdapter {
  return createRecordAdapter({
    name: options.name ?? 'memory',
    records: memoryRecords(),
    atomic: (body) => body(),
    ...(options.historyRetentionMs === undefined ? {} : { historyRetentionMs: options.historyRetentionMs }),
  });
}
