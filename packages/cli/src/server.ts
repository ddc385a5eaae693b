// `spendguard serve`: statusHandler on its own node:http server, on loopback unless a token guards it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SpendGuard } from '@spendguard/core';
import { isLoopback } from './auth.js';
import { type StatusHandlerOptions, statusHandler } from './handler.js';

export interface ServeOptions extends StatusHandlerOptions {
  /** Default 127.0.0.1. Any other address needs `token`. */
  host?: string;
  /** Default 9464 (the Prometheus exporter default for spendguard); 0 picks a free port. */
  port?: number;
}

export interface RunningServer {
  server: Server;
  /** Where the dashboard is, e.g. http://127.0.0.1:9464/ */
  url: string;
  /** Stops accepting connections and ends the open ones; the guard stays open. */
  close(): Promise<void>;
}

export const DEFAULT_PORT = 9464;
export const DEFAULT_HOST = '127.0.0.1';

export class UnsafeServeError extends Error {
  override readonly name = 'UnsafeServeError';
}

export async function startServer(guard: SpendGuard, options: ServeOptions = {}): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  if (!isLoopback(host) && !options.token) {
    throw new UnsafeServeError(
      `serving on ${host} makes the budgets readable from other machines: give a token (--token or SPENDGUARD_TOKEN), or bind 127.0.0.1.`,
    );
  }
  if (options.token !== undefined && !/^\S+$/.test(options.token)) {
    throw new UnsafeServeError('the token must be one word with no spaces (a request sends it as "Authorization: Bearer <token>").');
  }
  const handler = statusHandler(guard, options.token ? options : { ...options, loopbackHostsOnly: true });
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    server,
    url: `http://${shown}:${address.port}/`,
    close: () =>
      new Promise<void>((resolve) => {
        handler.close();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
