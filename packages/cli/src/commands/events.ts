// `spendguard events`: the durable event feed from the start of its retention (or after --since),
// page by page; --follow keeps polling for new events until interrupted. --json prints one JSON
// object per line, so a follower's output can be piped as it arrives.
import { setTimeout as sleep } from 'node:timers/promises';
import { isSpendGuardError } from '@spendguard/core';
import { type Context, print, UsageError, withGuard } from '../context.js';
import type { EventsPage } from '../feed.js';
import { eventLine } from '../render/events.js';

export interface EventsOptions {
  since?: string;
  follow?: boolean;
  json?: boolean;
  limit: string;
  interval: string;
}

export async function eventsCommand(ctx: Context, opts: EventsOptions, signal?: AbortSignal): Promise<void> {
  const limit = Number(opts.limit);
  const interval = Number(opts.interval);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
    throw new UsageError(`--limit must be a whole number from 1 to 1000; got ${opts.limit}.`);
  if (!Number.isFinite(interval) || interval < 50) throw new UsageError(`--interval must be at least 50 ms; got ${opts.interval}.`);
  await withGuard(ctx, async (guard) => {
    let since = opts.since;
    let printed = 0;
    for (;;) {
      let page: EventsPage;
      try {
        page = await guard.events(since === undefined ? { limit } : { since, limit });
      } catch (err) {
        // Following, an unreachable store is waited out: the feed keeps what happens meanwhile.
        if (!opts.follow || !isSpendGuardError(err, 'STORE_UNAVAILABLE')) throw err;
        ctx.io.stderr.write(`${ctx.colors.dim(`spendguard: the store did not answer (${err.message}); retrying`)}\n`);
        try {
          await sleep(interval, undefined, signal ? { signal } : {});
        } catch {
          break;
        }
        continue;
      }
      for (const e of page.events) {
        print(ctx, opts.json ? JSON.stringify(e) : eventLine(ctx.colors, e));
        printed++;
      }
      since = page.next ?? page.events.at(-1)?.id ?? since;
      if (page.next !== undefined && page.events.length > 0) continue;
      if (!opts.follow) break;
      try {
        await sleep(interval, undefined, signal ? { signal } : {});
      } catch {
        break; // interrupted: a clean end, the guard is closed by withGuard
      }
    }
    if (printed === 0 && !opts.json && !opts.follow)
      print(ctx, ctx.colors.dim(opts.since ? `No events after ${opts.since}.` : 'No events yet.'));
  });
}
