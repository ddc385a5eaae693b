import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runConformanceSuite } from '@spendguard/core/testing';
import { afterAll } from 'vitest';
import { sqliteAdapter } from './sqlite-adapter.js';

const dir = mkdtempSync(join(tmpdir(), 'spendguard-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

runConformanceSuite('sqliteAdapter (file)', {
  create: () => sqliteAdapter({ path: join(dir, `conformance-${n++}.db`) }),
  // A second connection to the same file, as another process would open it.
  connect: (adapter) => sqliteAdapter({ path: (adapter as ReturnType<typeof sqliteAdapter>).database.name }),
  numRuns: 25,
});
