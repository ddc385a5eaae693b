// `spendguard serve`: the dashboard, the JSON routes and /metrics until SIGINT or SIGTERM.
import { once } from 'node:events';
import { type Context, print, UsageError, withGuard } from '../context.js';
import { DEFAULT_HOST, startServer } from '../server.js';

export interface ServeCommandOptions {
  port: string;
  host: string;
  token?: string;
  refresh: string;
}

export async function serveCommand(ctx: Context, opts: ServeCommandOptions, stop: Promise<unknown> = stopSignal()): Promise<void> {
  const port = Number(opts.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new UsageError(`--port must be a port number (0 to 65535); got ${opts.port}.`);
  const refreshSeconds = Number(opts.refresh);
  if (!Number.isFinite(refreshSeconds) || refreshSeconds < 0.5)
    throw new UsageError(`--refresh must be at least 0.5 seconds; got ${opts.refresh}.`);
  const token = opts.token ?? (ctx.io.env.SPENDGUARD_TOKEN || undefined);
  await withGuard(ctx, async (guard, config) => {
    const running = await startServer(guard, {
      host: opts.host,
      port,
      refreshMs: Math.round(refreshSeconds * 1000),
      title: config.path.replace(/^.*[\\/]/, ''),
      ...(token !== undefined ? { token } : {}),
    });
    const c = ctx.colors;
    print(ctx, `${c.bold('spendguard dashboard')} on ${c.cyan(running.url)}${token !== undefined ? ' (token required)' : ''}`);
    print(ctx, c.dim(`  JSON: ${running.url}api/status · ${running.url}api/events   metrics: ${running.url}metrics`));
    if (opts.host === DEFAULT_HOST) print(ctx, c.dim('  reachable from this machine only; --host 0.0.0.0 --token … to share it'));
    await stop;
    await running.close();
  });
}

function stopSignal(): Promise<unknown> {
  return Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]);
}
