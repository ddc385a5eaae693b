// Alert delivery beyond the process: a small worker that follows the durable event feed and posts each
// alert to a webhook (a Slack-compatible `{ text }` payload), retrying with backoff, and resuming from its
// last event id after a restart (kept in a file). Any process with access to the store can run it: the
// alert is in the feed even when the process that crossed the threshold died before its listeners ran.
//
//   pnpm tsx examples/alert-webhook.ts --url https://hooks.slack.com/services/… [--store sqlite] [--cursor .spendguard/webhook.cursor]
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FeedEvent, SpendGuard } from '@spendguard/core';

export interface AlertWebhookOptions {
  guard: SpendGuard;
  /** Where alerts are posted. */
  url: string;
  /** The file that keeps the id of the last event handled, so a restart resumes after it. */
  cursorFile: string;
  /** How often the feed is read when it has nothing new (ms). Default 1000. */
  pollMs?: number;
  /** Waits before each retry of a failed post (ms); after the last, the worker stops with the error. */
  retryDelaysMs?: readonly number[];
  /** Stops the worker (it finishes the alert it is posting). */
  signal?: AbortSignal;
  /** Which events are posted. Default: alerts. */
  select?: (event: FeedEvent) => boolean;
}

/** Slack (and most chat webhooks) take `{ text }`. */
export function slackPayload(event: FeedEvent): { text: string } {
  if (event.type === 'alert') return { text: `:rotating_light: ${event.message}` };
  return { text: `spendguard ${event.type}: ${JSON.stringify(event)}` };
}

function readCursor(file: string): string | undefined {
  try {
    const text = readFileSync(file, 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** Written to a temporary file and renamed: a crash never leaves half a cursor. */
function writeCursor(file: string, id: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, id);
  renameSync(`${file}.tmp`, file);
}

/** Waits `ms`, or less when `signal` aborts; leaves no listener behind either way (it runs every poll). */
const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const stop = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', stop);
      resolve();
    }, ms);
    signal?.addEventListener('abort', stop, { once: true });
  });

async function post(url: string, event: FeedEvent, delays: readonly number[], signal?: AbortSignal): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackPayload(event)),
      });
      if (res.ok) return;
      throw new Error(`the webhook answered ${res.status}`);
    } catch (err) {
      const delay = delays[attempt];
      if (delay === undefined || signal?.aborted) throw err;
      await sleep(delay, signal);
    }
  }
}

/**
 * Follows the feed until `signal` aborts. Each selected event is posted, then its id saved: delivery is
 * at least once (a crash between a post and its save posts that one event again on restart), in order.
 */
export async function runAlertWebhook(options: AlertWebhookOptions): Promise<void> {
  const { guard, url, cursorFile, signal } = options;
  const pollMs = options.pollMs ?? 1000;
  const delays = options.retryDelaysMs ?? [500, 2000, 10_000, 30_000];
  const select = options.select ?? ((e: FeedEvent) => e.type === 'alert');
  let since = readCursor(cursorFile);
  while (!signal?.aborted) {
    const page = await guard.events(since === undefined ? { limit: 100 } : { since, limit: 100 });
    for (const event of page.events) {
      if (select(event)) await post(url, event, delays, signal);
      since = event.id;
      writeCursor(cursorFile, since);
      if (signal?.aborted) return;
    }
    if (!page.next) await sleep(pollMs, signal);
  }
}

// Run directly: the demo's store and budgets, posting to --url.
if (import.meta.url === `file://${process.argv[1]}`) {
  const { createSpendGuard } = await import('@spendguard/core');
  const { openStore, storeArg } = await import('./stores.js');
  const arg = (name: string) => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const url = arg('--url');
  if (!url) throw new Error('give the webhook with --url https://…');
  const { store, where } = await openStore(storeArg(process.argv, 'sqlite'));
  const guard = createSpendGuard({ store, budgets: (await import('./demo-budgets.js')).DEMO_BUDGETS });
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  console.log(`following the alerts in ${where}, posting them to ${url} (Ctrl-C stops)`);
  await runAlertWebhook({ guard, url, cursorFile: arg('--cursor') ?? '.spendguard/webhook.cursor', signal: stop.signal });
  await guard.close();
}
