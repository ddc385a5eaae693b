// A consumer's code, type-checked against the packed packages (never run): every public entry and the
// main types, as a user writes them. Compiled with skipLibCheck off by ../consumer.test.ts.

import { createServer } from 'node:http';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { type PostgresAdapterOptions, postgresAdapter, SCHEMA_VERSION } from '@spendguard/adapter-postgres';
import { type RedisAdapterOptions, redisAdapter } from '@spendguard/adapter-redis';
import { type SqliteAdapter, sqliteAdapter } from '@spendguard/adapter-sqlite';
import {
  type LoadedConfig,
  loadConfig,
  type RegisteredMetrics,
  type RunningServer,
  registerMetrics,
  type SpendGuardConfig,
  type StatusHandler,
  startServer,
  statusHandler,
} from '@spendguard/cli';
import {
  type Attributes,
  type BudgetDefinition,
  type BudgetStatus,
  createSpendGuard,
  isSpendGuardError,
  type SpendGuard,
  SpendGuardError,
  type StorageAdapter,
} from '@spendguard/core';
import { type ConformanceOptions, runConformanceSuite } from '@spendguard/core/testing';
import { WORKLOAD_BUDGETS } from '@spendguard/core/testing/workload';
import { BudgetExceededError, classifyProviderError, costOf, estimateCost, extendPrices, prices, withBudget } from '@spendguard/llm';
import { budgetMiddleware } from '@spendguard/llm/ai-sdk';
import { startFakeLlmServer } from '@spendguard/llm/testing';
import Database from 'better-sqlite3';
import { Cluster, Redis } from 'ioredis';
import OpenAI from 'openai';
import pg from 'pg';
import { Registry } from 'prom-client';

const budgets: BudgetDefinition[] = [
  { id: 'monthly', limit: 1000, softLimit: 800 },
  { id: 'user-daily', per: 'user', limit: 5, period: 'day', timezone: 'Europe/Berlin' },
];

const onMemory: SpendGuard = createSpendGuard({ store: memoryAdapter(), budgets });
const sqliteFile: SqliteAdapter = sqliteAdapter({ path: './spend.db', ledger: true });
const sqliteOpen = sqliteAdapter({ database: new Database(':memory:') });
const postgresOptions: PostgresAdapterOptions = { pool: new pg.Pool({ max: 4 }), schema: `budgets_v${SCHEMA_VERSION}` };
const redisOptions: RedisAdapterOptions = { client: new Redis('redis://127.0.0.1:6379'), prefix: 'app', commandTimeoutMs: 500 };
const stores: StorageAdapter[] = [
  sqliteFile,
  sqliteOpen,
  redisAdapter(redisOptions),
  postgresAdapter(postgresOptions),
  redisAdapter({ client: new Cluster([{ host: '127.0.0.1', port: 7000 }]) }),
];

export async function spendOnce(attrs: Attributes): Promise<number> {
  onMemory.on('alert', (a) => console.warn(a.message));
  const r = await onMemory.reserve(attrs, 0.12);
  if (!r.allowed) return 0;
  await onMemory.commit(r.reservationId, 0.1);
  const status: BudgetStatus = await onMemory.status('monthly');
  const all: BudgetStatus[] = await onMemory.status();
  const rows = sqliteFile.usage({ by: 'day' });
  return status.remaining + all.length + rows.length + stores.length + WORKLOAD_BUDGETS.length;
}

export function explain(err: unknown): string {
  if (err instanceof SpendGuardError) return `${err.code}: ${err.message}`;
  if (err instanceof BudgetExceededError) return err.message;
  if (isSpendGuardError(err)) return err.code;
  return classifyProviderError(err).kind;
}

export async function llm(): Promise<string | null | undefined> {
  const server = await startFakeLlmServer();
  const openai = withBudget(new OpenAI({ baseURL: server.openaiBaseURL, apiKey: 'test' }), { guard: onMemory, attrs: { user: 'u_1' } });
  const res = await openai.chat.completions.create({ model: 'gpt-4.1', messages: [{ role: 'user', content: 'hi' }], max_tokens: 50 });
  const table = extendPrices({ models: { 'my-model': { provider: 'openai', input: 1, cachedInput: 0.5, output: 2 } } });
  const estimate: number = estimateCost({ model: 'my-model', messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 10 }, table);
  const spent: number = costOf({ model: 'gpt-4.1', usage: { prompt_tokens: 10, completion_tokens: 5 } });
  // Its type is the AI SDK's LanguageModelV3Middleware, read from @ai-sdk/provider's declarations.
  const middleware = budgetMiddleware({ guard: onMemory, attrs: {} });
  await server.close();
  return `${res.choices[0]?.message.content}${estimate + spent}${prices.asOf}${typeof middleware.wrapGenerate}`;
}

export const adapterSuite = (options: ConformanceOptions) => runConformanceSuite('mine', options);

// @spendguard/cli embedded in a service: metrics in the service's prom-client registry, the dashboard on its server.
export async function operators(): Promise<string> {
  const registry = new Registry();
  const metrics: RegisteredMetrics = registerMetrics(onMemory, { registry });
  const handler: StatusHandler = statusHandler(onMemory, { token: 'secret', refreshMs: 5000 });
  const server = createServer(handler);
  const running: RunningServer = await startServer(onMemory, { port: 0 });
  const config: LoadedConfig = await loadConfig({ cwd: '.' });
  const options: SpendGuardConfig = config.options;
  metrics.unregister();
  handler.close();
  server.close();
  await running.close();
  return `${await registry.metrics()}${options.budgets.length}${running.url}${config.path}`;
}
