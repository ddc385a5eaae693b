// Build step: turns each adapter's server-side sources (Redis lua/*.lua, Postgres sql/**/*.sql) into a
// generated module (src/*-sources.generated.ts, not committed), so that they travel inside the compiled
// package (a bundled service has no lua/ or sql/ folder to read). Run by `build`; `--check` only reports.
// A file in a subfolder is keyed by its path from the folder, without the extension: 'functions/batch'.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

const root = new URL('../packages/', import.meta.url);
const EMBEDS = [
  { pkg: 'adapter-redis', dir: 'lua', ext: '.lua', target: 'src/lua-sources.generated.ts', name: 'LUA_SOURCES' },
  { pkg: 'adapter-postgres', dir: 'sql', ext: '.sql', target: 'src/sql-sources.generated.ts', name: 'SQL_SOURCES' },
];

// A template literal keeps the source readable; only \, ` and ${ need escaping inside one.
const literal = (text) => `\`${text.replace(/\\/g, '\\\\').replace(/`/g, '\\`').replace(/\$\{/g, '\\${')}\``;
const key = (name) => (/^[A-Za-z_$][\w$]*$/.test(name) ? name : `'${name}'`);

let stale = false;
for (const { pkg, dir, ext, target, name } of EMBEDS) {
  const sourceDir = new URL(`${pkg}/${dir}/`, root);
  const targetFile = new URL(`${pkg}/${target}`, root);
  const names = readdirSync(sourceDir, { recursive: true })
    .map((f) => f.split('\\').join('/'))
    .filter((f) => f.endsWith(ext))
    .map((f) => f.slice(0, -ext.length))
    .sort();
  const entries = names.map((n) => `  ${key(n)}: ${literal(readFileSync(new URL(`${n}${ext}`, sourceDir), 'utf8'))},`);
  const output = [
    `// Generated from ${dir}/**/*${ext} by scripts/embed-sources.mjs (run by \`pnpm build\`): edit the ${ext} files, not this one.`,
    '// biome-ignore-all format: generated',
    // Typed as plain strings so the declaration file does not repeat the sources as literal types.
    `export const ${name}: Readonly<Record<${names.map((n) => `'${n}'`).join(' | ')}, string>> = {`,
    ...entries,
    '};',
    '',
  ].join('\n');

  let current = '';
  try {
    current = readFileSync(targetFile, 'utf8');
  } catch {}
  if (current === output) continue;
  if (process.argv.includes('--check')) {
    console.error(`packages/${pkg}/${target} is out of date with ${dir}/**/*${ext}: run \`pnpm build\`.`);
    stale = true;
  } else {
    writeFileSync(targetFile, output);
  }
}
if (stale) process.exit(1);
