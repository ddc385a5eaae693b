// Redis key names. Every key of one guard starts with `{prefix}:`, one hash tag, so every script's
// keys share a slot and run on Redis Cluster. Instance names arrive escaped by the core (no `{`, `}`,
// `:` or `,` inside a value), so `t:<instance>:<period>` never collides across instances.
import { SpendGuardError } from '@spendguard/core';

export interface Keys {
  /** The hash-tagged prefix that scripts extend: `{spendguard}:`. */
  prefix: string;
  limits: string;
  limitsVersion: string;
  holds: string;
  /** A rule's instances, scored by when each may be forgotten. */
  instances(rule: string): string;
  op(id: string): string;
  idempotency(key: string): string;
  reservation(id: string): string;
  totals(instance: string, period: string): string;
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
    limits: `${p}limits`,
    limitsVersion: `${p}limits:v`,
    holds: `${p}holds`,
    instances: (rule) => `${p}in:${rule}`,
    op: (id) => `${p}op:${id}`,
    idempotency: (key) => `${p}k:${key}`,
    reservation: (id) => `${p}r:${id}`,
    totals: (instance, period) => `${p}t:${instance}:${period}`,
  };
}
