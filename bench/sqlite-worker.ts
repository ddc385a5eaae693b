// One bench process: spends on a shared SQLite file for a fixed time, then reports its counts.
// argv: <db path> <ms> <start at (epoch ms)> <calls in flight>.
import { sqliteAdapter } from '@spendguard/adapter-sqlite';
import { createSpendGuard } from '@spendguard/core';

const [path, ms, startAt] = [process.argv[2] as string, Number(process.argv[3]), Number(process.argv[4])];
const inFlight = Number(process.argv[5] ?? 1);
const guard = createSpendGuard({
  store: sqliteAdapter({ path }),
  budgets: [
    { id: 'monthly', limit: 1e9 },
    { id: 'project', per: 'project', limit: { api: 1e9 } },
    { id: 'model', per: 'model', limit: { '*': 1e9 } },
  ],
});
const attrs = { project: 'api', model: 'gpt-4.1' };
while (Date.now() < startAt) await new Promise((r) => setTimeout(r, 1));
let ops = 0;
let errors = 0;
let slowest = 0;
const end = Date.now() + ms;
const caller = async () => {
  while (Date.now() < end) {
    const t = performance.now();
    try {
      await guard.spend(attrs, 0.000001);
      ops++;
    } catch {
      errors++;
    }
    slowest = Math.max(slowest, performance.now() - t);
  }
};
await Promise.all(Array.from({ length: inFlight }, caller));
process.stdout.write(JSON.stringify({ ops, errors, slowest }));
await guard.close();
