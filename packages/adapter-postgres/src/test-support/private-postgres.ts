// A private PostgreSQL server for the tests that stop, restart or cut it: its own data directory on a
// free loopback port, from the machine's own binaries (initdb refuses root, so as user postgres there).
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function binDir(): string {
  const fromConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  if (fromConfig.status === 0 && fromConfig.stdout.trim()) {
    const dir = fromConfig.stdout.trim();
    if (spawnSync(join(dir, 'initdb'), ['--version']).status === 0) return dir;
  }
  const versions = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a));
  return join('/usr/lib/postgresql', versions[0] as string, 'bin');
}

export interface PrivatePostgres {
  url: string;
  /** Stops the server at once (mode immediate: like a crash) and starts it again on the same port. */
  restart(): Promise<void>;
  /** Stops it at once, until up(). */
  down(): void;
  up(): void;
  stop(): void;
}

export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'spendguard-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot)
    chownSync(
      dir,
      Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })),
      Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })),
    );
  const sh = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? 'runuser' : cmd, asRoot ? ['-u', 'postgres', '--', cmd, ...args] : args, { stdio: 'ignore' });
  const data = join(dir, 'data');
  sh(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=on`;
  const running = () =>
    spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), [
      ...(asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []),
      '-D',
      data,
      'status',
    ]).status === 0;
  const start = () => sh(join(bin, 'pg_ctl'), ['-D', data, '-o', options, '-w', '-l', join(dir, 'log'), 'start']);
  const stopNow = () => sh(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop']);
  start();
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async restart() {
      stopNow();
      start();
    },
    down() {
      if (running()) stopNow();
    },
    up() {
      if (!running()) start();
    },
    stop() {
      try {
        stopNow();
      } catch {}
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
