// `pnpm bench [-- --only memory,sqlite,redis,postgres]`: prints the benchmark table with ratios measured in one run.
import { printTable, type Row } from './harness.js';
import { memoryPerInstance, memoryRows } from './memory.js';
import { postgresRows } from './postgres.js';
import { redisRows } from './redis.js';
import { type FairnessReport, sqliteRows } from './sqlite.js';

const onlyIndex = process.argv.indexOf('--only');
const onlyArg =
  process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length) ?? (onlyIndex >= 0 ? process.argv[onlyIndex + 1] : undefined);
const only = new Set((onlyArg ?? 'memory,sqlite,redis,postgres').split(','));

const rows: Row[] = [];
let fairness: FairnessReport[] = [];
let perInstance: number | undefined;
if (only.has('memory')) {
  rows.push(...(await memoryRows()));
  perInstance = await memoryPerInstance();
}
if (only.has('sqlite')) {
  const sqlite = await sqliteRows();
  rows.push(...sqlite.rows);
  fairness = sqlite.fairness;
}
if (only.has('redis')) rows.push(...(await redisRows()));
if (only.has('postgres')) rows.push(...(await postgresRows()));

const RATIOS = [
  {
    label: 'memory spend / bare Map ceiling',
    of: 'memory: spend, 3 budgets',
    to: 'memory: bare Map 3-counter check-and-add (awaited)',
    target: '≥ 10 %',
  },
  {
    label: 'memory spend / RateLimiterMemory',
    of: 'memory: spend, 3 budgets',
    to: 'memory: rate-limiter-flexible RateLimiterMemory.consume (1 key)',
  },
  ...[1, 16, 64].map((n) => ({
    label: `sqlite spend / raw transaction ceiling, ${n} in flight`,
    of: `sqlite: spend, 3 budgets (file, WAL, NORMAL), ${n} in flight`,
    to: 'sqlite: raw better-sqlite3 3-row check-and-add transaction',
    target: '≥ 70 %',
  })),
  {
    label: 'sqlite spend, 64 in flight: group commit on / off',
    of: 'sqlite: spend, 3 budgets (file, WAL, NORMAL), 64 in flight',
    to: 'sqlite: spend, 64 in flight, group commit off (a transaction per call)',
  },
  ...[1, 16].map((n) => ({
    label: `sqlite 2 processes / 1 process, ${n} in flight each`,
    of: `sqlite: spend, 2 processes together for 7 s, ${n} in flight each`,
    to: `sqlite: spend, 1 process for 7 s, ${n} in flight`,
    target: '≥ 100 %',
  })),
  ...[1, 16, 64].flatMap((n) => [
    {
      label: `redis spend / raw Lua ceiling, ${n} in flight`,
      of: `redis: spend, 3 budgets, ${n} in flight`,
      to: `redis: raw 3-key Lua check-and-add, ${n} in flight`,
      target: n === 64 ? '≥ 80 %' : '',
    },
    {
      label: `redis spend / RateLimiterRedis, ${n} in flight`,
      of: `redis: spend, 3 budgets, ${n} in flight`,
      to: `redis: rate-limiter-flexible RateLimiterRedis.consume, ${n} in flight`,
      target: n === 64 ? '≥ 100 %' : '',
    },
  ]),
  ...[1, 64].map((n) => ({
    label: `redis leased spend, ${n} in flight / memory adapter spend`,
    of: `redis leased: spend with lease, 3 budgets, ${n} in flight`,
    to: 'redis leased: memory adapter spend, 3 budgets, 1 in flight (reference, same run)',
    target: '≥ 50 %',
  })),
  ...[1, 16].flatMap((n) => [
    {
      label: `postgres spend / raw transaction ceiling, ${n} in flight`,
      of: `postgres: spend, 3 budgets, ${n} in flight`,
      to: `postgres: raw 3-row transaction (BEGIN, SELECT … FOR UPDATE, UPDATE, COMMIT), ${n} in flight`,
      target: n === 16 ? '≥ 70 %' : '',
    },
    {
      label: `postgres spend / RateLimiterPostgres, ${n} in flight`,
      of: `postgres: spend, 3 budgets, ${n} in flight`,
      to: `postgres: rate-limiter-flexible RateLimiterPostgres.consume, ${n} in flight`,
      target: n === 16 ? '≥ 100 %' : '',
    },
  ]),
];

console.log(`spendguard benchmark — node ${process.version}, ${new Date().toISOString()}\n`);
console.log(printTable(rows, RATIOS));
if (perInstance !== undefined) {
  console.log(`\nmemory adapter: ${Math.round(perInstance)} bytes of heap per idle budget instance (100 000 instances; target ≤ 1024)`);
}
for (const f of fairness) {
  const shares = f.shares.map((s) => `${(s * 100).toFixed(1)} %`).join(' / ');
  console.log(
    `\nsqlite fairness, 2 processes for ${f.seconds} s, ${f.inFlight} in flight each: shares ${shares} (target each ≥ 33.3 %), slowest call ${f.slowestMs.toFixed(1)} ms (target < 100 ms), errors reaching a caller: ${f.errors} (target 0)`,
  );
}
