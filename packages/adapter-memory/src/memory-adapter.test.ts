import { runConformanceSuite } from '@spendguard/core/testing';
import { memoryAdapter } from './memory-adapter.js';

runConformanceSuite('memoryAdapter', { create: () => memoryAdapter() });
