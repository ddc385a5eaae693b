// The Lua scripts, kept in ../lua and registered as ioredis commands (EVALSHA, with NOSCRIPT handled
// by ioredis). The key functions generated from keys.ts and the helpers of lib.lua are prepended to each.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import { luaKeyFunctions } from './keys.js';

const SCRIPTS = ['charge', 'settle', 'read', 'observe', 'set-limit', 'limits', 'clock', 'cancel'] as const;
export type ScriptName = (typeof SCRIPTS)[number];

const source = (name: string) => readFileSync(new URL(`../lua/${name}.lua`, import.meta.url), 'utf8');

/** Command names are namespaced by a hash of the sources, so two versions can share one client. */
export function defineScripts(client: Redis | Cluster): Record<ScriptName, string> {
  const lib = `${luaKeyFunctions()}${source('lib')}`;
  const names = {} as Record<ScriptName, string>;
  for (const script of SCRIPTS) {
    const lua = `${lib}\n${source(script)}`;
    const name = `spendguard_${script.replace('-', '_')}_${hash(lua)}`;
    if (!(name in client)) client.defineCommand(name, { lua });
    names[script] = name;
  }
  return names;
}

function hash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return (h >>> 0).toString(36);
}
