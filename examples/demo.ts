// The demo: a simulated service that guards a few hundred concurrent LLM calls with spendguard.
import { memoryAdapter } from '@spendguard/adapter-memory';
import { type BudgetStatus, createSpendGuard, fromMicros, isSpendGuardError, toMicros } from '@spendguard/core';
import { DEMO_BUDGETS } from './demo-budgets.js';
import { openStore, storeArg } from './stores.js';

if (process.argv.includes('--llm')) {
  await import('./demo-llm.js');
  process.exit(0);
}

const storeName = storeArg(process.argv, 'sqlite');
const { store, where } = await openStore(storeName);

const guard = createSpendGuard({ store, budgets: DEMO_BUDGETS });

const t0 = Date.now();
const stamp = () => `+${String(Date.now() - t0).padStart(4)}ms`;
// Per-user allowances fire many events; the demo counts those and prints the rest.
let userEvents = 0;
const quiet = (budget: string) => budget.startsWith('user-daily:') && ++userEvents > 0;
guard.on('alert', (a) => quiet(a.budget) || console.log(`${stamp()} ALERT      ${a.message}`));
guard.on('transition', (t) => quiet(t.budget) || console.log(`${stamp()} TRANSITION ${t.budget}: ${t.from} → ${t.to}`));
guard.on('reset', (r) =>
  console.log(`${stamp()} RESET      ${r.budget}: new period ${r.period} (previous ${r.previous.key} used ${r.previous.used})`),
);
guard.on('overage', (o) => console.log(`${stamp()} OVERAGE    ${o.budget}: reserved ${o.reserved}, actual ${o.actual}`));
let deniedCount = 0;
let shadowCount = 0;
guard.on('denied', (d) => (d.shadow ? shadowCount++ : deniedCount++));

// A deterministic pseudo-random source, so every run tells the same story.
let seed = 42;
const random = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)] as T;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4.1': { input: 2 / 1e6, output: 8 / 1e6 },
  'gpt-4.1-mini': { input: 0.4 / 1e6, output: 1.6 / 1e6 },
  o3: { input: 2 / 1e6, output: 8 / 1e6 },
};

/** One simulated LLM call: reserve the worst case, "call" the model, commit what it really cost. */
async function llmCall(i: number): Promise<'ok' | 'refused'> {
  const project = pick(['api', 'api', 'batch']);
  const model = pick(Object.keys(PRICES));
  const user = `u_${Math.floor(random() * 300)}`;
  const price = PRICES[model] as { input: number; output: number };
  const inputTokens = 50_000 + Math.floor(random() * 950_000);
  const maxOutput = 16_000;
  const estimate = inputTokens * price.input + maxOutput * price.output;
  const r = await guard.reserve({ project, model, user }, estimate, { idempotencyKey: `${RUN}-call-${i}`, meta: { inputTokens } });
  if (!r.allowed) return 'refused';
  await sleep(5 + random() * 40);
  const actual = inputTokens * price.input + Math.floor(random() * maxOutput) * price.output;
  await guard.commit(r.reservationId, actual);
  return 'ok';
}

console.log(`spendguard demo — store: ${where}\n`);
const CALLS = 400;
/** Idempotency keys are per run: a retried call within a run counts once, a new run is new calls. */
const RUN = Date.now().toString(36);
const outcomes = await Promise.all(Array.from({ length: CALLS }, (_, i) => llmCall(i)));
const ok = outcomes.filter((o) => o === 'ok').length;
console.log(`\n${CALLS} concurrent calls: ${ok} made, ${CALLS - ok} refused before they were made (${deniedCount} denied events).`);
console.log(`${userEvents} transition and alert events of per-user allowances were not printed.`);
console.log(`${shadowCount} calls made would have been refused by the shadow budget o3-cap-trial (denied with shadow: true).`);

console.log('\nA call that would pass the hard limit of project:api:');
const left = (await guard.status('project:api')).remaining;
const refused = await guard.spend({ project: 'api', model: 'o3', user: 'u_big' }, left + 1);
console.log(refused);

console.log('\nAn operator grants project:api 10 more for ten minutes (guard.grant), for every guard on the store:');
try {
  const g = await guard.grant('project:api', 10, { expiresAt: Date.now() + 600_000, reason: 'demo: launch traffic' });
  const api = await guard.status('project:api');
  console.log(`granted ${g.amount} until ${g.expiresAt}: project:api limit ${api.limit}, remaining ${api.remaining.toFixed(2)}`);
} catch (err) {
  // Each run of the demo on the same store grants again: once project:api's grants fill monthly's unallocated part, it says so.
  if (!isSpendGuardError(err, 'OVER_ALLOCATED')) throw err;
  console.log(`refused: ${err.message}`);
}

const table = (await guard.status()).filter((s: BudgetStatus) => !s.budget.startsWith('user-daily:') || s.used > 4);
console.log('\nStatus at the end:');
console.table(
  table.map((s) => ({
    budget: s.budget,
    enforce: s.enforce,
    limit: s.limit,
    used: Number(s.used.toFixed(2)),
    reserved: s.reserved,
    remaining: Number(s.remaining.toFixed(2)),
    '%': Number(s.percentUsed.toFixed(1)),
    level: s.level,
    'forecast end': Number(s.forecast.endOfPeriod.toFixed(0)),
    granted: fromMicros(s.grants.reduce((sum, g) => sum + toMicros(g.amount), 0)) || '',
  })),
);
console.log(
  `(${(await guard.status()).filter((s) => s.budget.startsWith('user-daily:')).length} user-daily budgets in use; those near their 5/day allowance shown)`,
);
const total = await guard.status('monthly');
console.log(`\nmonthly: ${total.used} of ${total.limit} used — never above the hard limit, exact to the micro-dollar.`);
const feed = await guard.events({ limit: 1000 });
console.log(
  `The store's durable event feed holds ${feed.events.length}${feed.next ? '+' : ''} events for any process to read (guard.events()).`,
);
await guard.close();

// Rollover only shows at a month's end: a second guard on a memory store and a clock the demo moves.
let simulated = Date.parse('2026-11-20T12:00:00Z');
const rolling = createSpendGuard({ store: memoryAdapter(), budgets: DEMO_BUDGETS.slice(0, 1), clock: () => simulated });
await rolling.spend({}, 700);
simulated = Date.parse('2026-12-01T09:00:00Z');
const december = await rolling.status('monthly');
console.log(
  `\nRollover (simulated clock): November used 700 of 1000, so December's limit is ${december.limit} (${december.carriedOver} carried over, at most 200).`,
);
await rolling.close();
if (storeName === 'sqlite') {
  console.log('\nSee it live (spendguard.config.ts points the command at this store):');
  console.log('  pnpm spendguard serve     → the dashboard at http://127.0.0.1:9464/');
  console.log('  pnpm spendguard status    → the same in the terminal');
}
