// What every command gets: where to write, whether to colour, and the guard made from the config
// (opened once per command and always closed).
import type { SpendGuard } from '@spendguard/core';
import { guardFromConfig, type LoadedConfig, loadConfig } from './config.js';
import type { Colors } from './render/colors.js';

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface Context {
  io: Io;
  colors: Colors;
  /** --config, when given. */
  configPath: string | undefined;
}

/** A mistake of the caller's that deserves a message, not a stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function print(ctx: Context, text = ''): void {
  ctx.io.stdout.write(`${text}\n`);
}

export function printJson(ctx: Context, value: unknown): void {
  ctx.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export async function withGuard<T>(ctx: Context, run: (guard: SpendGuard, config: LoadedConfig) => Promise<T>): Promise<T> {
  const config = await loadConfig(ctx.configPath === undefined ? { cwd: ctx.io.cwd } : { cwd: ctx.io.cwd, config: ctx.configPath });
  const guard = await guardFromConfig(config);
  try {
    return await run(guard, config);
  } finally {
    await guard.close();
  }
}
