// Build step: turns lua/*.lua into src/lua-sources.generated.ts (not committed), so the scripts travel inside
// the compiled package (a bundled service has no lua/ folder to read). Run by `build`; `--check` only reports.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const luaDir = new URL('../lua/', import.meta.url);
const target = new URL('../src/lua-sources.generated.ts', import.meta.url);

// A template literal keeps the Lua readable; only \, ` and ${ need escaping inside one.
const literal = (text) => `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;

const names = readdirSync(luaDir)
  .filter((f) => f.endsWith('.lua'))
  .map((f) => f.slice(0, -'.lua'.length))
  .sort();
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`);
const entries = names.map((name) => `  ${key(name)}: ${literal(readFileSync(new URL(`${name}.lua`, luaDir), 'utf8'))},`);
const output = [
  '// Generated from lua/*.lua by scripts/embed-lua.mjs (run by `pnpm build`): edit the .lua files, not this one.',
  '// biome-ignore-all format: generated',
  // Typed as plain strings so the declaration file does not repeat the Lua as literal types.
  `export const LUA_SOURCES: Readonly<Record<${names.map((n) => `'${n}'`).join(' | ')}, string>> = {`,
  ...entries,
  '};',
  '',
].join('\n');

let current = '';
try {
  current = readFileSync(target, 'utf8');
} catch {}
if (process.argv.includes('--check')) {
  if (current !== output) {
    console.error('src/lua-sources.generated.ts is out of date with lua/*.lua: run `pnpm build`.');
    process.exit(1);
  }
} else if (current !== output) {
  writeFileSync(target, output);
}
