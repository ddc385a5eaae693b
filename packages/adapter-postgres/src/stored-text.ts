// PostgreSQL's text and jsonb cannot hold U+0000, which the core accepts in attribute values, keys and ids.
// Strings go into the store with U+0000 written as U+0001 U+0002 (and U+0001 itself as U+0001 U+0001),
// and come back decoded: one-to-one, and a no-op for every string without those two characters.
import { SpendGuardError } from '@spendguard/core';

const SPECIAL = /[\u0000\u0001]/;

export function toStored(text: string): string {
  if (!SPECIAL.test(text)) return text;
  return text.replace(/\u0001/g, '\u0001\u0001').replace(/\u0000/g, '\u0001\u0002');
}

export function fromStored(text: string): string {
  if (!text.includes('\u0001')) return text;
  return text.replace(/\u0001([\u0001\u0002])/g, (_, c: string) => (c === '\u0002' ? '\u0000' : '\u0001'));
}

/** JSON with every string stored as toStored writes it. */
export function storedJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? toStored(v) : v));
}

/** A value read back from jsonb with every string decoded (a fresh copy where anything changed). */
export function fromStoredValue<T>(value: T): T {
  if (typeof value === 'string') return fromStored(value) as T;
  if (Array.isArray(value)) return value.map(fromStoredValue) as T;
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromStoredValue(v);
    return out as T;
  }
  return value;
}

/**
 * The longest instance name the adapter stores (UTF-8 bytes): a btree index entry holds about 2.7 kB, and
 * the totals key adds the period to the name.
 */
export const MAX_NAME_BYTES = 2400;

/** A call on an instance whose name is longer than the store's keys can hold is refused alone. */
export function nameTooLong(name: string): SpendGuardError | undefined {
  const stored = toStored(name);
  if (stored.length * 3 <= MAX_NAME_BYTES || Buffer.byteLength(stored) <= MAX_NAME_BYTES) return undefined;
  return new SpendGuardError(
    'INVALID_ATTRIBUTES',
    `budget instance '${name.slice(0, 80)}…' has a name of ${Buffer.byteLength(stored)} bytes; the PostgreSQL adapter stores names of up to ${MAX_NAME_BYTES} (its keys are indexed). Use shorter attribute values for this budget's per attributes (an id rather than a text).`,
  );
}
