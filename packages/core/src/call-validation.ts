// Checks of what a call carries besides its attributes and amount: options, keys, meta and ids.
// Bad input is reported with its own code before anything reaches the store.
import { configError, unknownReservation } from './error-factories.js';
import { setOwn } from './own-record.js';
import { isWellFormed } from './unicode.js';

export interface CallOptions {
  idempotencyKey?: string;
  /** reserve only: how long the reservation holds its amount (ms). Default 600 000. */
  ttlMs?: number;
  meta?: Record<string, string | number>;
}

export const DEFAULT_TTL_MS = 600_000;
const MAX_TTL_MS = 30 * 86_400_000;
const MAX_KEY_LENGTH = 256;
const MAX_META_ENTRIES = 64;
const MAX_META_VALUE_LENGTH = 1024;

export function ttlOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return DEFAULT_TTL_MS;
  if (!Number.isInteger(ttlMs) || ttlMs <= 0 || ttlMs > MAX_TTL_MS) {
    throw configError(`ttlMs must be a whole number of milliseconds from 1 to ${MAX_TTL_MS}; got ${String(ttlMs)}.`);
  }
  return ttlMs;
}

/** Idempotency keys the guard sends for itself start with this; a caller's may not, or they could collide. */
export const RESERVED_KEY_PREFIX = 'spendguard:';

export function idempotencyKeyOf(key: unknown): string | undefined {
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !isWellFormed(key)) {
    throw configError(
      `idempotencyKey must be a non-empty string of well-formed Unicode, at most ${MAX_KEY_LENGTH} characters; got ${JSON.stringify(key)}.`,
    );
  }
  if (key.startsWith(RESERVED_KEY_PREFIX)) {
    throw configError(
      `idempotencyKey must not start with '${RESERVED_KEY_PREFIX}', which the guard keeps for its own keys (forecast claims); got ${JSON.stringify(key)}.`,
    );
  }
  return key;
}

/** meta is kept by ledgers as JSON: a plain object of strings and finite numbers. */
export function metaOf(meta: unknown): Record<string, string | number> | undefined {
  if (meta === undefined) return undefined;
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw configError('meta must be a plain object of names to strings or finite numbers, e.g. { requestId: "r_1" }.');
  }
  const entries = Object.entries(meta);
  if (entries.length > MAX_META_ENTRIES) throw configError(`meta may hold at most ${MAX_META_ENTRIES} entries; got ${entries.length}.`);
  const out: Record<string, string | number> = {};
  for (const [name, value] of entries) {
    const okName = name.length > 0 && isWellFormed(name);
    const okValue =
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && value.length <= MAX_META_VALUE_LENGTH && isWellFormed(value));
    if (!okName || !okValue) {
      throw configError(
        `meta.${name} must be a finite number or a string of well-formed Unicode up to ${MAX_META_VALUE_LENGTH} characters; got ${String(value)}.`,
      );
    }
    setOwn(out, name, value);
  }
  return out;
}

export function reservationIdOf(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_KEY_LENGTH || !isWellFormed(id)) throw unknownReservation(String(id));
  return id;
}

export function positiveInt(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw configError(`${name} must be a positive whole number; got ${String(value)}.`);
  }
  return value;
}
