// Redis key names, defined once in LAYOUT: the adapter builds them here and the Lua scripts get the
// same layout as generated functions (luaKeyFunctions). Every key starts with `{prefix}:`, one hash
// tag, so every script's keys share a slot and run on Redis Cluster.
import { SpendGuardError } from '@spendguard/core';
import { keyPart } from './key-bytes.js';

/**
 * Each key is the prefix followed by its template; `{part}` is filled in. The templates are injective:
 * each one with parts starts with its own `letter:`, and only `totals` has two parts, of which the
 * instance name never holds a `:` (the core escapes it). Parts are written as UTF-8, or WTF-8 for a
 * lone surrogate (key-bytes.ts), so different strings give different keys.
 */
export const LAYOUT = {
  /** Run-time limit overrides (hash: name → micro-units). */
  limits: 'limits',
  /** Their version, for compare-and-set (grants bump it too). */
  limitsVersion: 'limits:v',
  /**
   * Grants by instance name (hash: name → JSON list of [id, amount, expiresAt, grantedAt, reason?], the
   * numbers as strings: cjson would round them when the list is written back).
   */
  grants: 'grants',
  /** The instances with grants (zset: name scored by its earliest grant's expiry), for forgetting expired ones. */
  grantsDue: 'grants:due',
  /** Held reservations (zset: id scored by expiry). */
  holds: 'holds',
  /**
   * One adapter's session (hash): '#' while it lives, and call id → attempt for each charge that ran and
   * whose answer the adapter has not acknowledged ('!' .. attempt: fenced off by a cancel).
   */
  session: 's:{session}',
  /** A rule's instances (zset: name scored by when it may be forgotten). */
  instances: 'in:{rule}',
  /** An instance's latest period with activity. */
  latestPeriod: 'i:{instance}',
  idempotency: 'k:{key}',
  reservation: 'r:{id}',
  /** A guard's leased slice, by its id (hash: held amount, recorded, ref, expiry). */
  lease: 'l:{id}',
  /** Slices that hold an amount (zset: lease id scored by when it is charged in full unless renewed). */
  leases: 'leases',
  /** The durable event feed (stream: one entry per fact, trimmed to the event retention). */
  feed: 'feed',
  /** One instance's totals in one period (hash). */
  totals: 't:{instance}:{period}',
} as const;

export type KeyName = string | Buffer;

export interface Keys {
  /** The hash-tagged prefix that scripts extend: `{spendguard}:`. */
  prefix: string;
  limits: string;
  limitsVersion: string;
  grants: string;
  grantsDue: string;
  holds: string;
  leases: string;
  feed: string;
  session(id: string): KeyName;
  instances(rule: string): KeyName;
  latestPeriod(instance: string): KeyName;
  idempotency(key: string): KeyName;
  reservation(id: string): KeyName;
  totals(instance: string, period: string): KeyName;
}

/** A template as its literal pieces and part names: 't:{instance}:{period}' → ['t:', ':', ''] and ['instance', 'period']. */
function parse(template: string): { literals: string[]; parts: string[] } {
  const literals: string[] = [];
  const parts: string[] = [];
  let at = 0;
  for (const m of template.matchAll(/\{(\w+)\}/g)) {
    literals.push(template.slice(at, m.index));
    parts.push(m[1] as string);
    at = m.index + m[0].length;
  }
  literals.push(template.slice(at));
  return { literals, parts };
}

function builder(prefix: string, template: string): (...values: string[]) => KeyName {
  const { literals } = parse(template);
  return (...values) => {
    const pieces: KeyName[] = [prefix + literals[0]];
    let binary = false;
    values.forEach((value, i) => {
      const part = keyPart(value);
      binary ||= typeof part !== 'string';
      pieces.push(part, literals[i + 1] as string);
    });
    return binary ? Buffer.concat(pieces.map((x) => (typeof x === 'string' ? Buffer.from(x, 'utf8') : x))) : pieces.join('');
  };
}

export function keysFor(prefix: string): Keys {
  if (typeof prefix !== 'string' || prefix.length === 0 || /[{}]/.test(prefix)) {
    throw new SpendGuardError(
      'INVALID_CONFIG',
      `redisAdapter prefix must be a non-empty string without '{' or '}'; got ${JSON.stringify(prefix)}.`,
    );
  }
  const p = `{${prefix}}:`;
  return {
    prefix: p,
    limits: p + LAYOUT.limits,
    limitsVersion: p + LAYOUT.limitsVersion,
    grants: p + LAYOUT.grants,
    grantsDue: p + LAYOUT.grantsDue,
    holds: p + LAYOUT.holds,
    leases: p + LAYOUT.leases,
    feed: p + LAYOUT.feed,
    session: builder(p, LAYOUT.session),
    instances: builder(p, LAYOUT.instances),
    latestPeriod: builder(p, LAYOUT.latestPeriod),
    idempotency: builder(p, LAYOUT.idempotency),
    reservation: builder(p, LAYOUT.reservation),
    totals: builder(p, LAYOUT.totals),
  };
}

/**
 * The layout as Lua functions, prepended to every script: `key_totals(prefix, instance, period)`,
 * `key_latest_period(prefix, instance)`… Scripts name keys only through them (or get them in KEYS).
 */
export function luaKeyFunctions(): string {
  const lines = ['-- Key names, generated from LAYOUT in src/keys.ts (the one definition).'];
  for (const [name, template] of Object.entries(LAYOUT)) {
    const { literals, parts } = parse(template);
    if (literals.some((l) => /['\\\n]/.test(l))) throw new Error(`key template ${name} cannot be written as a Lua literal`);
    let body = `prefix .. '${literals[0]}'`;
    parts.forEach((part, i) => {
      body += ` .. ${part}`;
      if (literals[i + 1]) body += ` .. '${literals[i + 1]}'`;
    });
    const snake = name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    lines.push(`local function key_${snake}(${['prefix', ...parts].join(', ')}) return ${body} end`);
  }
  return `${lines.join('\n')}\n`;
}
