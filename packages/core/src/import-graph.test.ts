// The module structure stays a tree of concerns: no import cycles inside core, and the pure core
// never imports an adapter, the testing suite, or a Node-only store library.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = dirname(fileURLToPath(import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1] as string);
}

const files = sources(root);
const graph = new Map(
  files.map((f) => [
    f,
    importsOf(f)
      .filter((s) => s.startsWith('.'))
      .map((s) => resolve(dirname(f), s.replace(/\.js$/, '.ts'))),
  ]),
);

describe('core import graph', () => {
  it('has no cycles', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, path: string[]) => {
      if (state.get(f) === 'done') return;
      if (state.get(f) === 'open') {
        cycles.push([...path.slice(path.indexOf(f)), f].map((p) => relative(root, p)).join(' → '));
        return;
      }
      state.set(f, 'open');
      for (const dep of graph.get(f) ?? []) visit(dep, [...path, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
    expect(cycles).toEqual([]);
  });

  it('the engine imports no adapter, no store library and nothing of the testing suite', () => {
    const offending: string[] = [];
    for (const [file, deps] of graph) {
      const rel = relative(root, file);
      if (rel.startsWith('testing')) continue;
      const bare = importsOf(file).filter((s) => !s.startsWith('.'));
      for (const s of bare) if (/adapter-|ioredis|better-sqlite3|^pg$|vitest|fast-check/.test(s)) offending.push(`${rel} → ${s}`);
      for (const d of deps) if (relative(root, d).startsWith('testing')) offending.push(`${rel} → ${relative(root, d)}`);
    }
    expect(offending).toEqual([]);
  });
});
