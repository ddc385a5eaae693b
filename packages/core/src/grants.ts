// Grants: temporary raises of one instance's limit, kept in the store so that every guard counts them.
// This file reads a grant's input and the grants a snapshot holds; limit-changes.ts writes them.
import type { Grant } from './adapter/spi.js';
import { configError } from './error-factories.js';
import { SpendGuardError } from './errors.js';
import { fromMicros, toMicros } from './money.js';
import { toIso } from './period.js';
import { isWellFormed } from './unicode.js';

export interface GrantOptions {
  /** When the grant stops counting: an ISO 8601 string, ms since the epoch, or a Date. Default: the end of the current period. */
  expiresAt?: string | number | Date;
  /** Why it was given, shown by status(). */
  reason?: string;
}

/** A grant as status() and grant() show it. */
export interface GrantInfo {
  id: string;
  amount: number;
  /** ISO 8601. */
  expiresAt: string;
  grantedAt: string;
  reason?: string;
}

const MAX_REASON_LENGTH = 500;
/** The latest instant a Date can hold: a later expiry could be stored but never shown. */
const MAX_DATE_MS = 8.64e15;

export function grantAmountOf(amount: unknown): number {
  const micros = typeof amount === 'number' && amount > 0 ? toMicros(amount, 'grant amount') : 0;
  if (micros === 0) {
    throw new SpendGuardError(
      'INVALID_AMOUNT',
      `grant amount must be a finite number more than 0 currency units; got ${typeof amount === 'string' ? JSON.stringify(amount) : String(amount)}.`,
    );
  }
  return micros;
}

/** The expiry in ms: given, or `periodEnd`; it must lie after `now`. */
export function grantExpiryOf(options: GrantOptions | undefined, periodEnd: number, now: number): number {
  const given = options?.expiresAt;
  if (given === undefined) return periodEnd;
  const ms =
    given instanceof Date
      ? given.getTime()
      : typeof given === 'string'
        ? Date.parse(given)
        : typeof given === 'number'
          ? given
          : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw configError(
      `grant expiresAt must be an ISO 8601 date string, milliseconds since the epoch or a Date; got ${JSON.stringify(given) ?? String(given)}.`,
    );
  }
  if (ms > MAX_DATE_MS) throw configError(`grant expiresAt ${String(given)} is past the latest date a Date can hold (+275760-09-13).`);
  if (ms <= now) throw configError(`grant expiresAt ${toIso(ms)} is not in the future (now is ${toIso(now)}): give a later time.`);
  return Math.ceil(ms);
}

export function grantReasonOf(options: GrantOptions | undefined): string | undefined {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw configError('grant options must be an object: { expiresAt?, reason? }.');
  }
  const reason = options?.reason;
  if (reason === undefined) return undefined;
  if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH || !isWellFormed(reason)) {
    throw configError(`grant reason must be a string of well-formed Unicode, at most ${MAX_REASON_LENGTH} characters.`);
  }
  return reason;
}

/** Active grants (expiring after `now`) by instance name, earliest expiry first. */
export function activeGrantsByName(grants: readonly Grant[], now: number): Map<string, Grant[]> {
  const byName = new Map<string, Grant[]>();
  for (const g of grants) {
    if (g.expiresAt <= now) continue;
    const list = byName.get(g.name);
    if (list) list.push(g);
    else byName.set(g.name, [g]);
  }
  for (const list of byName.values()) list.sort((a, b) => a.expiresAt - b.expiresAt || (a.id < b.id ? -1 : 1));
  return byName;
}

export function grantInfo(g: Grant): GrantInfo {
  const info: GrantInfo = { id: g.id, amount: fromMicros(g.amount), expiresAt: toIso(g.expiresAt), grantedAt: toIso(g.grantedAt) };
  if (g.reason !== undefined) info.reason = g.reason;
  return info;
}
