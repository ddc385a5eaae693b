// Test support: the Redis the tests talk to. REDIS_URL (default redis://127.0.0.1:6379); where none
// answers and redis-server is on the PATH, a private one on a free port; under CI=true a missing
// Redis is a failure, not a skip. Every test run uses its own key prefix and deletes its keys.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';
import { Redis } from 'ioredis';

export const RUN_ID = `sgt-${process.pid}-${Date.now().toString(36)}`;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1000 });
  probe.on('error', () => {}); // a refused probe is an answer: no server yet
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/**
 * Starts a private redis-server on a free loopback port; the caller stops it. With `aofDir`, every
 * write is in the append-only file there before Redis answers, and a restart on that dir keeps it.
 */
export async function startPrivateRedis(
  port?: number,
  aofDir?: string,
): Promise<{ url: string; port: number; process: ChildProcess; stop(): Promise<void> }> {
  const p = port ?? (await freePort());
  const persistence = aofDir ? ['--appendonly', 'yes', '--appendfsync', 'always', '--dir', aofDir] : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(p), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${p}`;
  for (let i = 0; i < 100 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 50));
  return {
    url,
    port: p,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

let shared: Promise<string> | undefined;

/** The URL of a Redis for tests, starting a private one if needed and allowed. */
export function testRedisUrl(): Promise<string> {
  shared ??= (async () => {
    const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
    if (await answers(url)) return url;
    if (spawnSync('redis-server', ['--version']).status === 0) {
      const server = await startPrivateRedis();
      process.once('exit', () => server.process.kill('SIGKILL'));
      return server.url;
    }
    throw new Error(`no Redis answers at ${url} and redis-server is not on the PATH; set REDIS_URL (under CI a Redis is required).`);
  })();
  return shared;
}

/** Clients opened by a test file, closed (and their keys deleted) at the end. */
export class ClientPool {
  private readonly clients: Redis[] = [];

  async open(): Promise<Redis> {
    const client = new Redis(await testRedisUrl(), { maxRetriesPerRequest: 1 });
    this.clients.push(client);
    return client;
  }

  async cleanup(): Promise<void> {
    const client = this.clients[0];
    if (client) {
      let cursor = '0';
      do {
        const [next, found] = await client.scan(cursor, 'MATCH', `{${RUN_ID}*`, 'COUNT', 1000);
        if (found.length > 0) await client.del(...found);
        cursor = next;
      } while (cursor !== '0');
    }
    await Promise.all(this.clients.map((c) => c.quit().catch(() => c.disconnect())));
  }
}
