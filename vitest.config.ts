import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources, not a stale build.
    alias: [
      { find: /^@spendguard\/core\/adapter$/, replacement: src('./packages/core/src/adapter/index.ts') },
      { find: /^@spendguard\/core\/testing\/workload$/, replacement: src('./packages/core/src/testing/workload.ts') },
      { find: /^@spendguard\/core\/testing$/, replacement: src('./packages/core/src/testing/index.ts') },
      { find: /^@spendguard\/core$/, replacement: src('./packages/core/src/index.ts') },
      { find: /^@spendguard\/adapter-memory$/, replacement: src('./packages/adapter-memory/src/index.ts') },
      { find: /^@spendguard\/adapter-sqlite$/, replacement: src('./packages/adapter-sqlite/src/index.ts') },
      { find: /^@spendguard\/adapter-postgres$/, replacement: src('./packages/adapter-postgres/src/index.ts') },
      { find: /^@spendguard\/adapter-redis$/, replacement: src('./packages/adapter-redis/src/index.ts') },
      { find: /^@spendguard\/cli$/, replacement: src('./packages/cli/src/index.ts') },
      { find: /^@spendguard\/llm\/ai-sdk$/, replacement: src('./packages/llm/src/ai-sdk.ts') },
      { find: /^@spendguard\/llm\/testing$/, replacement: src('./packages/llm/src/testing/index.ts') },
      { find: /^@spendguard\/llm$/, replacement: src('./packages/llm/src/index.ts') },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
