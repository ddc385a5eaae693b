// The embedded scripts are exactly the authored lua/*.lua files (a stale generated module would run old Lua).
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LUA_SOURCES } from './lua-sources.generated.js';

const luaDir = new URL('../lua/', import.meta.url);

describe('embedded Lua sources', () => {
  it('has one entry per lua/*.lua file, each equal to the file', () => {
    const files = readdirSync(luaDir).filter((f) => f.endsWith('.lua'));
    expect(Object.keys(LUA_SOURCES).sort()).toEqual(files.map((f) => f.slice(0, -'.lua'.length)).sort());
    for (const file of files) {
      const name = file.slice(0, -'.lua'.length) as keyof typeof LUA_SOURCES;
      expect(LUA_SOURCES[name], `${file} changed: run \`pnpm build\` to regenerate src/lua-sources.generated.ts`).toBe(
        readFileSync(new URL(file, luaDir), 'utf8'),
      );
    }
  });
});
