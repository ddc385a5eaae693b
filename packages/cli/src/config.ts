// The config file: where it is found, how it is loaded (TypeScript without a build step), and the
// guard made from it. Every mistake becomes a ConfigError that says what to do.
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BudgetDefinition, createSpendGuard, type SpendGuard, type SpendGuardOptions, type StorageAdapter } from '@spendguard/core';

/** Looked for in this order in the working directory when no --config is given. */
export const CONFIG_NAMES = ['spendguard.config.ts', 'spendguard.config.mts', 'spendguard.config.mjs', 'spendguard.config.js'] as const;

/** What a config file default-exports: the guard's options, with `store` an adapter or a function that makes one. */
export type SpendGuardConfig = Omit<SpendGuardOptions, 'store'> & {
  store: StorageAdapter | (() => StorageAdapter | Promise<StorageAdapter>);
};

export interface LoadedConfig {
  /** The file it came from (absolute). */
  path: string;
  options: SpendGuardConfig;
}

/** A config that cannot be found, loaded or used; the message says what to do. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

const EXAMPLE = `  // spendguard.config.ts
  import { sqliteAdapter } from '@spendguard/adapter-sqlite';
  export default { store: () => sqliteAdapter({ path: './spend.db' }), budgets: [{ id: 'monthly', limit: 100 }] };`;

/** The config file to use: `explicit` (relative to `cwd`), or the first of CONFIG_NAMES in `cwd`. */
export function findConfig(cwd: string, explicit?: string): string {
  if (explicit !== undefined) {
    const path = isAbsolute(explicit) ? explicit : resolve(cwd, explicit);
    if (!existsSync(path)) throw new ConfigError(`config file ${path} does not exist. Check the path given to --config.`);
    return path;
  }
  for (const name of CONFIG_NAMES) {
    const path = resolve(cwd, name);
    if (existsSync(path)) return path;
  }
  throw new ConfigError(
    `no spendguard config in ${cwd}: create ${CONFIG_NAMES[0]} (or .mjs / .js) there, or pass --config <file>. For example:\n${EXAMPLE}`,
  );
}

/**
 * Loads a config file. JavaScript is imported natively; TypeScript goes through jiti, which compiles
 * the file in memory and still imports packages natively, so the config and the CLI share one copy
 * of @spendguard/core.
 */
export async function loadConfig(options: { cwd?: string; config?: string } = {}): Promise<LoadedConfig> {
  const path = findConfig(options.cwd ?? process.cwd(), options.config);
  let exported: unknown;
  try {
    if (/\.[mc]?ts$/.test(path)) {
      const { createJiti } = await import('jiti');
      // The namespace, not `{ default: true }` (which falls back to the namespace when there is no default).
      const mod = (await createJiti(import.meta.url, { moduleCache: false, fsCache: false, interopDefault: false }).import(path)) as {
        default?: unknown;
      };
      exported = mod.default;
    } else {
      exported = ((await import(pathToFileURL(path).href)) as { default?: unknown }).default;
    }
  } catch (err) {
    throw new ConfigError(`could not load ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  // A factory lets a config read secrets or open clients lazily.
  if (typeof exported === 'function') exported = await (exported as () => unknown)();
  return { path, options: checkShape(path, exported) };
}

function checkShape(path: string, exported: unknown): SpendGuardConfig {
  if (exported === undefined || exported === null || typeof exported !== 'object') {
    throw new ConfigError(`${path} must default-export the guard's options, e.g.\n${EXAMPLE}`);
  }
  const config = exported as Partial<SpendGuardConfig>;
  if (config.store === undefined) {
    throw new ConfigError(`${path}: the default export has no store; add one, e.g. store: () => sqliteAdapter({ path: './spend.db' }).`);
  }
  if (!Array.isArray(config.budgets)) {
    throw new ConfigError(`${path}: the default export has no budgets array; add the budgets your service uses.`);
  }
  return config as SpendGuardConfig;
}

/** Makes the guard a config describes; the caller closes it. */
export async function guardFromConfig(loaded: LoadedConfig): Promise<SpendGuard> {
  const { store, ...rest } = loaded.options;
  let adapter: StorageAdapter;
  try {
    adapter = typeof store === 'function' ? await store() : store;
  } catch (err) {
    throw new ConfigError(`${loaded.path}: its store function failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  try {
    return createSpendGuard({ ...rest, store: adapter });
  } catch (err) {
    throw new ConfigError(`${loaded.path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The rule definitions of a config, by id. */
export function rulesOf(options: SpendGuardConfig): Map<string, BudgetDefinition> {
  return new Map(options.budgets.map((b) => [b.id, b]));
}
