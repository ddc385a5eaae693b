// `pnpm bench [-- --only memory,sqlite,redis]`: prints the benchmark table with ratios measured in one run.
import { printTable, type Row } from './harness.js';
import { memoryRows } from './memory.js';

const onlyArg = process.argv.find((a) => a.startsWith('--only='))?.slice(7) ?? process.argv[process.argv.indexOf('--only') + 1];
const only = new Set((process.argv.includes('--only') || onlyArg ? (onlyArg ?? '') : 'memory,sqlite,redis').split(','));

const rows: Row[] = [];
if (only.has('memory')) rows.push(...(await memoryRows()));

console.log(`spendguard benchmark — node ${process.version}, ${new Date().toISOString()}\n`);
console.log(
  printTable(rows, [
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
  ]),
);
