// The packages as a user gets them: each is packed (pnpm pack) and installed from its tarball with npm into
// a fresh project, which must type-check with skipLibCheck off; a service bundled into one file with esbuild
// must spend through the Redis and PostgreSQL adapters away from node_modules and any lua/ or sql/ folder. Needs `pnpm build` first.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPostgres } from '../../packages/adapter-postgres/src/test-support/test-postgres.js';
import { RUN_ID, testRedisUrl } from '../../packages/adapter-redis/src/test-support/test-redis.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));
const appSources = fileURLToPath(new URL('./app/', import.meta.url));
const PACKAGES = ['core', 'adapter-memory', 'adapter-sqlite', 'adapter-redis', 'adapter-postgres', 'llm', 'cli'] as const;
const json = (path: string) => JSON.parse(readFileSync(path, 'utf8'));
const rootDevDeps: Record<string, string> = json(join(root, 'package.json')).devDependencies;
const llmDevDeps: Record<string, string> = json(join(root, 'packages/llm/package.json')).devDependencies;
const cliDevDeps: Record<string, string> = json(join(root, 'packages/cli/package.json')).devDependencies;

// npm must read the machine's npm config, not the npm_* variables that `pnpm test` sets for pnpm.
const KEEP = new Set(['npm_config_registry', 'npm_config_cafile']);
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(npm|pnpm)_/i.test(k) || KEEP.has(k)));

let dir: string;
const tarballs = new Map<string, { file: string; contents: string[] }>();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spendguard-consumer-'));
  const packed = join(dir, 'tarballs');
  const app = join(dir, 'app');
  mkdirSync(app);
  const dependencies: Record<string, string> = {
    '@ai-sdk/provider': llmDevDeps['@ai-sdk/provider'] as string,
    // @ai-sdk/provider's own declarations import json-schema, which ships no types: with skipLibCheck off
    // every AI SDK user needs these (not ours to fix).
    '@types/json-schema': '^7.0.15',
    '@types/node': rootDevDeps['@types/node'] as string,
    ioredis: rootDevDeps.ioredis as string,
    openai: rootDevDeps.openai as string,
    pg: rootDevDeps.pg as string,
    // @spendguard/cli's peer dependency, named so the consumer's registry and the package's are one.
    'prom-client': cliDevDeps['prom-client'] as string,
  };
  const overrides: Record<string, string> = {};
  for (const name of PACKAGES) {
    const pkg = json(join(root, 'packages', name, 'package.json'));
    await run('pnpm', ['pack', '--pack-destination', packed], { cwd: join(root, 'packages', name), env });
    const file = join(packed, `spendguard-${name}-${pkg.version}.tgz`);
    const { stdout } = await run('tar', ['-tzf', file]);
    tarballs.set(name, { file, contents: stdout.split('\n').filter(Boolean) });
    dependencies[pkg.name] = `file:${file}`;
    // The packages depend on each other by version: point those at the tarballs too, not at the registry.
    overrides[pkg.name] = `$${pkg.name}`;
  }
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies, overrides }));
  const compilerOptions = {
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2023'],
    types: ['node'],
    strict: true,
    skipLibCheck: false,
    noEmit: true,
  };
  writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts'] }));
  writeFileSync(join(app, 'tsconfig.llm-only.json'), JSON.stringify({ compilerOptions, files: ['llm-only.ts'] }));
  for (const file of ['consumer.ts', 'llm-only.ts', 'redis-service.ts', 'postgres-service.ts'])
    copyFileSync(join(appSources, file), join(app, file));
  // --ignore-scripts: better-sqlite3 is not built (nothing here runs it); --prefer-offline: npm's cache first.
  await run('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd: app, env });
}, 240_000);

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const tsc = (project: string, ...args: string[]) =>
  run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', project, ...args], { cwd: join(dir, 'app') }).catch(
    (err: { stdout?: string; message: string }) => {
      throw new Error(`tsc -p ${project} failed:\n${err.stdout || err.message}`);
    },
  );

describe('packed packages in a fresh npm project', () => {
  it('ship dist, sources, README and LICENSE; no tests, test helpers or build info', () => {
    const license = readFileSync(join(root, 'LICENSE'), 'utf8');
    for (const name of PACKAGES) {
      const { contents } = tarballs.get(name)!;
      expect(contents, name).toEqual(
        expect.arrayContaining([
          'package/LICENSE',
          'package/README.md',
          'package/package.json',
          'package/dist/index.js',
          'package/dist/index.d.ts',
        ]),
      );
      expect(
        contents.filter((f) => /\.test\.|test-support|fixtures|tsbuildinfo/.test(f)),
        name,
      ).toEqual([]);
      // Every compiled file has its shipped source: a stale dist file (say, of a moved test helper) fails here.
      const orphans = contents.filter(
        (f) => /^package\/dist\/.*\.js$/.test(f) && !contents.includes(f.replace(/^package\/dist\/(.*)\.js$/, 'package/src/$1.ts')),
      );
      expect(orphans, name).toEqual([]);
      expect(readFileSync(join(dir, 'app/node_modules/@spendguard', name, 'LICENSE'), 'utf8'), name).toBe(license);
    }
  });

  it('type-check in a strict NodeNext project with skipLibCheck off, every public entry imported', async () => {
    await tsc('tsconfig.json');
  });

  it('@spendguard/llm type-checks for a user of openai alone, without reading the AI SDK types', async () => {
    const { stdout } = await tsc('tsconfig.llm-only.json', '--listFiles');
    expect(stdout).toContain('/node_modules/@spendguard/llm/dist/index.d.ts');
    expect(stdout.split('\n').filter((f) => f.includes('/@ai-sdk/'))).toEqual([]);
  });

  it('installs the spendguard command, which runs from the tarball', async () => {
    const { stdout } = await run(join(dir, 'app/node_modules/.bin/spendguard'), ['--help'], { cwd: join(dir, 'app') });
    for (const command of ['status', 'history', 'events', 'set-limit', 'serve']) expect(stdout).toContain(command);
  });

  it('a service bundled into one file spends through Redis with no lua/ folder beside it', async () => {
    const url = await testRedisUrl();
    const prefix = `${RUN_ID}-consumer`;
    const out = join(dir, 'service', 'service.mjs');
    await build({
      entryPoints: [join(dir, 'app', 'redis-service.ts')],
      absWorkingDir: join(dir, 'app'),
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // ioredis is CommonJS and requires Node's modules: give the ESM bundle a require.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    const client = new Redis(url, { maxRetriesPerRequest: 1 });
    try {
      const { stdout } = await run(process.execPath, [out, url, prefix], { cwd: join(dir, 'service'), timeout: 20_000 });
      expect(JSON.parse(stdout)).toEqual({ first: true, second: false, used: 2.5, remaining: 7.5 });
      expect(await client.keys(`{${prefix}}*`)).not.toEqual([]);
    } finally {
      const keys = await client.keys(`{${prefix}}*`);
      if (keys.length > 0) await client.del(...keys);
      await client.quit();
    }
  });

  it('a service bundled into one file spends through PostgreSQL with no sql/ folder beside it', async () => {
    const url = await testPostgres();
    const schema = `${RUN_ID}-consumer`.replace(/-/g, '_');
    const out = join(dir, 'pg-service', 'service.mjs');
    await build({
      entryPoints: [join(dir, 'app', 'postgres-service.ts')],
      absWorkingDir: join(dir, 'app'),
      outfile: out,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      // pg is CommonJS and requires Node's modules (and optionally pg-native): give the ESM bundle a require.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      external: ['pg-native'],
      logLevel: 'silent',
    });
    const admin = new pg.Pool({ connectionString: url, max: 1 });
    try {
      const { stdout } = await run(process.execPath, [out, url, schema], { cwd: join(dir, 'pg-service'), timeout: 20_000 });
      expect(JSON.parse(stdout)).toEqual({ first: true, second: false, used: 2.5, remaining: 7.5 });
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = $1', [schema]);
      expect(rows).toEqual([{ n: 1 }]);
    } finally {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
});
