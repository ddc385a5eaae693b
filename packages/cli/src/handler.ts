// statusHandler: the read-only HTTP routes of the dashboard, for node:http and any framework that takes
// a (req, res, next) handler. No route changes anything: every method but GET and HEAD gets 405.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { isSpendGuardError, type SpendGuard } from '@spendguard/core';
import type { Registry } from 'prom-client';
import { bearerOf, isLoopback, tokenMatches } from './auth.js';
import { dashboardPage, tokenPage } from './dashboard/page.js';
import { EventTail } from './event-tail.js';

export interface StatusHandlerOptions {
  /** When set, every route needs `Authorization: Bearer <token>` (the page also takes `?token=`). */
  token?: string;
  /** How often the page refreshes itself (ms). Default 2000. */
  refreshMs?: number;
  /** Shown in the page's title. Default 'budgets'. */
  title?: string;
  /** Periods in each budget's history chart. Default 12. */
  historyPeriods?: number;
  /**
   * The registry `/metrics` serves. Default: a registry of its own with `registerMetrics(guard)`,
   * made on first use (needs the prom-client peer dependency).
   */
  registry?: Registry;
  /**
   * Answer only requests whose Host header names this machine (localhost, 127.x, [::1]): a page that
   * rebinds its own name to 127.0.0.1 cannot read the budgets. `serve` sets it when it has no token.
   */
  loopbackHostsOnly?: boolean;
}

export type StatusHandler = ((req: IncomingMessage, res: ServerResponse, next?: (err?: unknown) => void) => void) & {
  /** Stops counting the guard's refusals for /metrics. The guard stays open. */
  close(): void;
};

/** The host part of a Host header ('127.0.0.1:9464' → '127.0.0.1', '[::1]:80' → '[::1]'); '' when absent. */
function hostOf(header: string | undefined): string {
  if (!header) return '';
  const bracket = /^(\[[^\]]*\])(?::\d+)?$/.exec(header);
  if (bracket) return bracket[1] as string;
  return header.replace(/:\d+$/, '');
}

type Route = 'page' | 'status' | 'history' | 'events' | 'metrics';
const ROUTES: Record<string, Route> = {
  '/': 'page',
  '/index.html': 'page',
  '/api/status': 'status',
  '/api/history': 'history',
  '/api/events': 'events',
  '/metrics': 'metrics',
};
const MAX_EVENTS = 1000;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function intParam(params: URLSearchParams, name: string, fallback: number, max: number): number {
  const raw = params.get(name);
  if (raw === null) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new HttpError(400, `${name} must be a whole number from 1 to ${max}`);
  return n;
}

function statusOfError(err: unknown): number {
  if (err instanceof HttpError) return err.status;
  if (isSpendGuardError(err, 'UNKNOWN_BUDGET')) return 404;
  if (isSpendGuardError(err, 'STORE_UNAVAILABLE')) return 503;
  if (isSpendGuardError(err)) return 400;
  return 500;
}

export function statusHandler(guard: SpendGuard, options: StatusHandlerOptions = {}): StatusHandler {
  const refreshMs = options.refreshMs ?? 2000;
  const historyPeriods = options.historyPeriods ?? 12;
  const title = options.title ?? 'budgets';
  const tail = new EventTail(guard);
  let metrics: Promise<{ registry: Registry; unregister?: () => void }> | undefined;
  // Made now, not at the first scrape, so that /metrics counts the refusals from the start.
  const metricsReady = () => {
    metrics ??= options.registry
      ? Promise.resolve({ registry: options.registry })
      : Promise.all([import('prom-client'), import('./metrics.js')]).then(([prom, { registerMetrics }]) => {
          const registry = new prom.Registry();
          return { registry, unregister: registerMetrics(guard, { registry }).unregister };
        });
    return metrics;
  };
  metricsReady().catch(() => {});

  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    type: string,
    body: string,
    extra: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'content-type': type,
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
      ...extra,
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  const json = (req: IncomingMessage, res: ServerResponse, status: number, value: unknown) =>
    send(req, res, status, 'application/json; charset=utf-8', JSON.stringify(value));

  async function answer(route: Route, url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = url.searchParams;
    switch (route) {
      case 'page': {
        const nonce = randomBytes(16).toString('base64');
        const csp = [
          "default-src 'none'",
          `script-src 'nonce-${nonce}'`,
          `style-src 'nonce-${nonce}'`,
          "connect-src 'self'",
          "img-src 'self' data:",
          "base-uri 'none'",
          "form-action 'self'",
          "frame-ancestors 'none'",
        ].join('; ');
        const page = dashboardPage({ nonce, title, refreshMs, historyPeriods, recentEvents: 30 });
        return send(req, res, 200, 'text/html; charset=utf-8', page, { 'content-security-policy': csp });
      }
      case 'status': {
        const budget = params.get('budget');
        return json(req, res, 200, budget === null ? await guard.status() : [await guard.status(budget)]);
      }
      case 'history': {
        const budget = params.get('budget');
        if (budget === null) throw new HttpError(400, 'history needs ?budget=<budget instance>');
        return json(req, res, 200, await guard.history(budget, { periods: intParam(params, 'periods', historyPeriods, 120) }));
      }
      case 'events': {
        if (params.has('recent')) {
          const { events, behind } = await tail.latest(intParam(params, 'recent', 50, 200));
          return json(req, res, 200, behind ? { events, behind } : { events });
        }
        const since = params.get('since');
        const limit = intParam(params, 'limit', 100, MAX_EVENTS);
        return json(req, res, 200, await guard.events(since === null ? { limit } : { since, limit }));
      }
      case 'metrics': {
        let registry: Registry;
        try {
          ({ registry } = await metricsReady());
        } catch {
          throw new HttpError(501, '/metrics needs prom-client: npm install prom-client');
        }
        return send(req, res, 200, registry.contentType, await registry.metrics());
      }
    }
  }

  const handler = ((req, res, next) => {
    // A target such as '//host/…' or one no URL parser takes: answered, never thrown (a throw here
    // would end the whole server, before any token is checked).
    const target = req.url ?? '/';
    let url: URL | undefined;
    try {
      if (target.startsWith('/') && !target.startsWith('//')) url = new URL(target, 'http://localhost');
    } catch {
      url = undefined;
    }
    if (url === undefined) return json(req, res, 400, { error: 'the request target must be a path such as /api/status' });
    if (options.loopbackHostsOnly && !isLoopback(hostOf(req.headers.host))) {
      return json(req, res, 403, { error: 'this server answers requests to localhost only; give it a token to serve other names' });
    }
    const route = ROUTES[url.pathname === '' ? '/' : url.pathname];
    if (route === undefined) {
      if (next) return next();
      return json(req, res, 404, { error: `no route ${url.pathname}: try /, /api/status, /api/history, /api/events or /metrics` });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(req, res, 405, 'application/json; charset=utf-8', JSON.stringify({ error: 'read-only: only GET and HEAD' }), {
        allow: 'GET, HEAD',
      });
    }
    if (options.token !== undefined) {
      const given = bearerOf(req) ?? (route === 'page' ? (url.searchParams.get('token') ?? undefined) : undefined);
      if (!tokenMatches(options.token, given)) {
        const challenge = { 'www-authenticate': 'Bearer realm="spendguard"' };
        if (route === 'page') {
          const nonce = randomBytes(16).toString('base64');
          return send(req, res, 401, 'text/html; charset=utf-8', tokenPage(nonce), {
            ...challenge,
            'content-security-policy': `default-src 'none'; style-src 'nonce-${nonce}'; form-action 'self'; frame-ancestors 'none'`,
          });
        }
        return send(
          req,
          res,
          401,
          'application/json; charset=utf-8',
          JSON.stringify({ error: 'missing or wrong bearer token' }),
          challenge,
        );
      }
    }
    answer(route, url, req, res).catch((err: unknown) => {
      if (res.headersSent) return void res.destroy();
      json(req, res, statusOfError(err), { error: err instanceof Error ? err.message : String(err) });
    });
  }) as StatusHandler;
  handler.close = () => {
    metrics?.then((m) => m.unregister?.()).catch(() => {});
  };
  return handler;
}
