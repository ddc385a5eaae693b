// The Lua scripts, authored in ../lua and embedded at build time (lua-sources.generated.ts), registered as
// ioredis commands (EVALSHA, with NOSCRIPT handled by ioredis). The key functions generated from keys.ts
// and the helpers of lib.lua are prepended to each.
import type { Cluster, Redis } from 'ioredis';
import { luaKeyFunctions } from './keys.js';
import { LUA_SOURCES } from './lua-sources.generated.js';

const SCRIPTS = ['batch', 'read', 'observe', 'set-limit', 'grant', 'limits', 'clock', 'cancel'] as const;
export type ScriptName = (typeof SCRIPTS)[number];

const source = (name: keyof typeof LUA_SOURCES): string => LUA_SOURCES[name];

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
