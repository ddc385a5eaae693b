// The alert webhook example: every alert of the feed is posted once, in order, through failures of the
// webhook, and a restarted worker resumes after the last alert it handled.

import { getEventListeners } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { createSpendGuard } from '@spendguard/core';
import { afterAll, describe, expect, it } from 'vitest';
import { runAlertWebhook } from '../../examples/alert-webhook.js';

const dir = mkdtempSync(join(tmpdir(), 'spendguard-webhook-'));
const servers: Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A webhook on loopback that fails its first `failures` requests with 500. */
async function webhook(failures: number): Promise<{ url: string; received: string[]; attempts: () => number }> {
  const received: string[] = [];
  let attempts = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => {
      body += d;
    });
    req.on('end', () => {
      attempts++;
      if (attempts <= failures) {
        res.writeHead(500).end();
        return;
      }
      received.push((JSON.parse(body) as { text: string }).text);
      res.writeHead(200).end('ok');
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, attempts: () => attempts };
}

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('examples/alert-webhook', () => {
  it('posts each alert once, in order, through webhook failures, and resumes after a restart', { timeout: 30_000 }, async () => {
    const store = memoryAdapter();
    const budgets = [{ id: 'monthly', limit: 100, softLimit: 80 }];
    // The alerts were caused by a guard whose process has no listener at all: they are in the feed.
    const actor = createSpendGuard({ store, budgets });
    await actor.spend({}, 60); // info
    await actor.spend({}, 25); // warning, soft limit

    const hook = await webhook(2);
    const cursorFile = join(dir, 'cursor');
    const worker = createSpendGuard({ store, budgets });
    const first = new AbortController();
    const running = runAlertWebhook({
      guard: worker,
      url: hook.url,
      cursorFile,
      pollMs: 20,
      retryDelaysMs: [10, 10, 10],
      signal: first.signal,
    });
    await until(() => hook.received.length === 3);
    first.abort();
    await running;
    expect(hook.received.map((t) => t.match(/reached (\w+)|passed its soft limit/)?.[0])).toEqual([
      'reached info',
      'reached warning',
      'passed its soft limit',
    ]);
    expect(hook.attempts()).toBe(5); // two failures, retried

    await actor.spend({}, 10); // critical, while no worker runs
    const second = new AbortController();
    const again = runAlertWebhook({ guard: worker, url: hook.url, cursorFile, pollMs: 20, retryDelaysMs: [10], signal: second.signal });
    await until(() => hook.received.length === 4);
    await new Promise((r) => setTimeout(r, 100)); // nothing more comes, after several polls
    expect(getEventListeners(second.signal, 'abort').length).toBeLessThanOrEqual(1); // a poll leaves no listener behind
    second.abort();
    await again;
    expect(hook.received).toHaveLength(4);
    expect(hook.received[3]).toContain('reached critical');
  });
});
