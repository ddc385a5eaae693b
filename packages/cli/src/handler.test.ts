// statusHandler mounted on node:http, startServer, and `spendguard serve` as a child process: the
// routes, read-only methods, the bearer token, and budget names that hold markup.
import { createServer, type Server } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { memoryAdapter } from '@spendguard/adapter-memory';
import { type BudgetStatus, createSpendGuard, type SpendGuard } from '@spendguard/core';
import { Registry } from 'prom-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { EventsPage } from './feed.js';
import { type StatusHandler, statusHandler } from './handler.js';
import { registerMetrics } from './metrics.js';
import { startServer } from './server.js';
import { makeProject } from './test-support/project.js';

const XSS = '<img src=x onerror="globalThis.pwned=1"><script>globalThis.pwned=1</script>';
const BUDGETS = [
  { id: 'monthly', limit: 100 },
  { id: 'project', per: 'project', limit: { '*': 50 } },
];

async function listen(handler: StatusHandler | ((req: never, res: never) => void)): Promise<{ server: Server; base: string }> {
  const server = createServer(handler as StatusHandler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('statusHandler on node:http', () => {
  let guard: SpendGuard;
  let handler: StatusHandler;
  let server: Server;
  let base: string;

  beforeAll(async () => {
    guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    await guard.spend({ project: 'api' }, 30);
    await guard.spend({ project: XSS }, 45);
    handler = statusHandler(guard);
    ({ server, base } = await listen(handler));
  });
  afterAll(async () => {
    handler.close();
    server.close();
    await guard.close();
  });

  it('GET /api/status: BudgetStatus[] of every instance; ?budget= one', async () => {
    const res = await fetch(`${base}/api/status`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    const all = (await res.json()) as BudgetStatus[];
    expect(all.map((s) => s.budget)).toEqual(expect.arrayContaining(['monthly', 'project:api', `project:${XSS}`]));
    expect(all.find((s) => s.budget === 'monthly')).toMatchObject({ used: 75, limit: 100, level: 'warning' });
    const one = (await (await fetch(`${base}/api/status?budget=project%3Aapi`)).json()) as BudgetStatus[];
    expect(one).toEqual([expect.objectContaining({ budget: 'project:api', used: 30 })]);
    const missing = await fetch(`${base}/api/status?budget=nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('nope');
  });

  it('GET /api/history: the periods of one instance; 400 without ?budget=', async () => {
    const h = (await (await fetch(`${base}/api/history?budget=monthly&periods=3`)).json()) as { used: number }[];
    expect(h.map((e) => e.used)).toEqual([0, 0, 75]);
    expect((await fetch(`${base}/api/history`)).status).toBe(400);
    expect((await fetch(`${base}/api/history?budget=monthly&periods=0`)).status).toBe(400);
  });

  it('GET /: the self-contained dashboard with a CSP nonce, no data of its own and nothing from another host', async () => {
    const res = await fetch(`${base}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).not.toContain('onerror');
    expect(html).toContain('api/status');
    expect(html).toContain('api/events');
  });

  it('GET /metrics: Prometheus text from a registry of its own', async () => {
    await guard.spend({ project: 'api' }, 100); // refused: counted in spendguard_denied_total
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('spendguard_budget_used{budget="monthly",rule="monthly"} 75');
    expect(text).toContain('spendguard_budget_level{budget="project:api",rule="project"} 1');
    expect(text).toMatch(/spendguard_denied_total\{budget="[^"]+",reason="limit_exceeded"\} 1/);
  });

  it('is read-only: POST, PUT, DELETE, PATCH get 405 on every route, and nothing changes', async () => {
    const totals = async () => (await guard.status()).map((s) => [s.budget, s.used, s.reserved, s.limit]);
    const before = await totals();
    for (const path of ['/', '/api/status', '/api/history?budget=monthly', '/api/events', '/metrics']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
        const res = await fetch(`${base}${path}`, { method, body: method === 'DELETE' ? null : '{"limit":1}' });
        expect(res.status, `${method} ${path}`).toBe(405);
        expect(res.headers.get('allow')).toBe('GET, HEAD');
      }
    }
    expect(await totals()).toEqual(before);
    const head = await fetch(`${base}/api/status`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('unknown routes: 404 on its own, next() inside a framework', async () => {
    expect((await fetch(`${base}/admin`)).status).toBe(404);
    const inner = statusHandler(guard);
    const { server: s2, base: b2 } = await listen((req: never, res: { end(t: string): void }) =>
      inner(req, res as never, () => res.end('the framework answered')),
    );
    try {
      expect(await (await fetch(`${b2}/elsewhere`)).text()).toBe('the framework answered');
      expect((await fetch(`${b2}/api/status`)).status).toBe(200);
    } finally {
      inner.close();
      s2.close();
    }
  });

  it('budget names holding markup come out as JSON strings, never as HTML', async () => {
    const text = await (await fetch(`${base}/api/status`)).text();
    expect(text).toContain(JSON.stringify(`project:${XSS}`));
  });
});

describe('statusHandler with a token', () => {
  let guard: SpendGuard;
  let handler: StatusHandler;
  let server: Server;
  let base: string;
  const token = 's3cret-token';

  beforeAll(async () => {
    guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    handler = statusHandler(guard, { token });
    ({ server, base } = await listen(handler));
  });
  afterAll(async () => {
    handler.close();
    server.close();
    await guard.close();
  });

  it('401 on every route without the bearer token or with a wrong one; 200 with it', async () => {
    for (const path of ['/', '/api/status', '/api/history?budget=monthly', '/metrics']) {
      const none = await fetch(`${base}${path}`);
      expect(none.status, path).toBe(401);
      expect(none.headers.get('www-authenticate')).toContain('Bearer');
      expect((await fetch(`${base}${path}`, { headers: { authorization: 'Bearer nope' } })).status, path).toBe(401);
      expect((await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${token}` } })).status, path).toBe(200);
    }
    // The page also takes it once in the URL (and its script sends it as a header); the API does not.
    expect((await fetch(`${base}/?token=${token}`)).status).toBe(200);
    expect((await fetch(`${base}/api/status?token=${token}`)).status).toBe(401);
    const form = await (await fetch(`${base}/`)).text();
    expect(form).toContain('name="token"');
  });
});

describe('startServer', () => {
  it('binds loopback by default and refuses any other address without a token', async () => {
    const guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    try {
      await expect(startServer(guard, { host: '0.0.0.0', port: 0 })).rejects.toThrow(/token/);
      const running = await startServer(guard, { port: 0 });
      try {
        expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
        expect((await fetch(`${running.url}api/status`)).status).toBe(200);
      } finally {
        await running.close();
      }
    } finally {
      await guard.close();
    }
  });

  it('answers a request target no URL parser takes with 400, and stays up; without a token, only to localhost names', async () => {
    const guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    const running = await startServer(guard, { port: 0 });
    const { port } = running.server.address() as AddressInfo;
    const raw = (head: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.end(`${head}\r\nConnection: close\r\n\r\n`));
        let out = '';
        socket.on('data', (d) => {
          out += d;
        });
        socket.on('end', () => resolve(out));
        socket.on('error', reject);
      });
    try {
      for (const target of ['//[', '//a:99999/', '//evil.example/api/status']) {
        expect(await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1`)).toMatch(/^HTTP\/1\.1 400/);
      }
      // A page that rebinds its own name to 127.0.0.1 sends that name: refused.
      expect(await raw('GET /api/status HTTP/1.1\r\nHost: rebind.attacker.example')).toMatch(/^HTTP\/1\.1 403/);
      expect(await raw(`GET /api/status HTTP/1.1\r\nHost: localhost:${port}`)).toMatch(/^HTTP\/1\.1 200/);
      expect(await raw('GET /api/status HTTP/1.1\r\nHost: [::1]')).toMatch(/^HTTP\/1\.1 200/);
      expect((await fetch(`${running.url}api/status`)).status).toBe(200); // still up
      await expect(startServer(guard, { host: '0.0.0.0', port: 0, token: 'two words' })).rejects.toThrow(/one word/);
    } finally {
      await running.close();
      await guard.close();
    }
  });

  it('serves a registry it is given, with what the host registered there', async () => {
    const guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    const registry = new Registry();
    const metrics = registerMetrics(guard, { registry });
    const running = await startServer(guard, { port: 0, registry });
    try {
      expect(await (await fetch(`${running.url}metrics`)).text()).toContain('spendguard_budget_limit{budget="monthly",rule="monthly"} 100');
    } finally {
      await running.close();
      metrics.unregister();
      await guard.close();
    }
  });
});

describe('GET /api/events', () => {
  const servers: { close(): unknown }[] = [];
  afterEach(() => {
    for (const s of servers.splice(0)) s.close();
  });

  it('passes ?since and ?limit through to the feed; ?recent= the newest few', async () => {
    const guard = createSpendGuard({ store: memoryAdapter(), budgets: BUDGETS });
    await guard.spend({}, 60); // ok → info: a transition and an alert
    await guard.spend({}, 20); // info → warning
    const handler = statusHandler(guard);
    const { server, base } = await listen(handler);
    servers.push(server, handler);
    const all = (await (await fetch(`${base}/api/events`)).json()) as EventsPage;
    expect(all.events.map((e) => `${e.type}:${e.budget}`)).toEqual([
      'transition:monthly',
      'alert:monthly',
      'transition:monthly',
      'alert:monthly',
    ]);
    const page = (await (await fetch(`${base}/api/events?limit=1&since=${all.events[0]?.id}`)).json()) as EventsPage;
    expect(page.events.map((e) => e.id)).toEqual([all.events[1]?.id]);
    expect(page.next).toBeDefined();
    const recent = (await (await fetch(`${base}/api/events?recent=2`)).json()) as EventsPage;
    expect(recent.events.map((e) => e.id)).toEqual(all.events.slice(-2).map((e) => e.id));
    await guard.spend({}, 15); // → critical
    const later = (await (await fetch(`${base}/api/events?recent=2`)).json()) as EventsPage;
    expect(later.events.at(-1)).toMatchObject({ type: 'alert', level: 'critical' });
    await guard.close();
  });

  it('reads the store-wide durable feed through guard.events()', async () => {
    const store = memoryAdapter();
    const guard = createSpendGuard({ store, budgets: BUDGETS });
    await guard.spend({ project: 'api' }, 30); // project:api → info
    const handler = statusHandler(guard);
    const { server, base } = await listen(handler);
    servers.push(server, handler);
    const res = await fetch(`${base}/api/events`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as EventsPage;
    expect(page.events.find((e) => e.type === 'transition' && e.budget === 'project:api')).toMatchObject({ from: 'ok', to: 'info' });
    const recent = (await (await fetch(`${base}/api/events?recent=1`)).json()) as EventsPage;
    expect(recent.events).toHaveLength(1);
    await guard.close();
  });
});

describe('spendguard serve (child process)', () => {
  it('serves the dashboard and JSON on loopback, with --token required when given, and refuses 0.0.0.0 without one', async () => {
    const project = makeProject('mjs');
    try {
      const seed = project.guard();
      await seed.spend({ project: 'api' }, 12);
      await seed.close();
      const refused = await project.run(['serve', '--host', '0.0.0.0', '--port', '0']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('give a token');
      const serving = await project.start(['serve', '--port', '0', '--token', 'tok'], /(http:\/\/127\.0\.0\.1:\d+\/)/);
      try {
        const url = serving.match[1] as string;
        expect((await fetch(`${url}api/status`)).status).toBe(401);
        const res = await fetch(`${url}api/status`, { headers: { authorization: 'Bearer tok' } });
        expect(res.status).toBe(200);
        const statuses = (await res.json()) as BudgetStatus[];
        expect(statuses.find((s) => s.budget === 'project:api')).toMatchObject({ used: 12 });
        expect((await fetch(`${url}api/status`, { method: 'POST', headers: { authorization: 'Bearer tok' } })).status).toBe(405);
        expect(await (await fetch(`${url}metrics`, { headers: { authorization: 'Bearer tok' } })).text()).toContain(
          'spendguard_budget_used{budget="project:api",rule="project"} 12',
        );
      } finally {
        expect(await serving.stop()).toBe(0);
      }
      const viaEnv = await project.start(['serve', '--port', '0'], /(http:\/\/127\.0\.0\.1:\d+\/)/, { SPENDGUARD_TOKEN: 'from-env' });
      try {
        expect(viaEnv.output()).toContain('token required');
        expect((await fetch(`${viaEnv.match[1]}api/status`, { headers: { authorization: 'Bearer from-env' } })).status).toBe(200);
      } finally {
        await viaEnv.stop();
      }
    } finally {
      project.remove();
    }
  });
});
