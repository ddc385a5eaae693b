// Encoding refs for the scripts and decoding their flat replies into the SPI's shapes.
import type { InstanceRef, InstanceTotals } from '@spendguard/core/adapter';

type EncodedRef = Array<string | false | [readonly number[], readonly number[]] | [string, string]>;

/**
 * One ref as the scripts read it: `[name, period, day, limit | false, hard '1'/'0', periodEnd, rule,
 * marks ([fractions, amounts]) | false, ...limitKeys, rollover ([max, previous period])]`. Rollover goes
 * last and only when the ref has one, so a ref without it is what older scripts and stored reservations
 * know; the scripts tell it from a limit key by its type. Amounts are strings: a stored ref is written
 * back by cjson, which rounds numbers to 14 digits.
 */
export function encodeRef(r: InstanceRef): EncodedRef {
  const out: EncodedRef = [
    r.name,
    r.period,
    r.day,
    r.limit === null ? false : String(r.limit),
    r.hard ? '1' : '0',
    String(r.periodEnd),
    r.rule,
    r.marks ? [r.marks.fractions, r.marks.amounts] : false,
    ...r.limitKeys,
  ];
  if (r.rollover) out.push([String(r.rollover.max), r.rollover.previous]);
  return out;
}

/** The refs as one JSON argument, appended to `out`. */
export function encodeRefs(refs: readonly InstanceRef[], out: Array<string | number>): Array<string | number> {
  out.push(JSON.stringify(refs.map(encodeRef)));
  return out;
}

/** A ref stored inside a reservation (cjson array) back into an InstanceRef. */
export function decodeStoredRef(a: EncodedRef): InstanceRef {
  const last = a.length > 8 ? a[a.length - 1] : undefined;
  const rollover = Array.isArray(last) ? (last as [string, string]) : undefined;
  const ref: InstanceRef = {
    name: a[0] as string,
    rule: a[6] as string,
    period: a[1] as string,
    day: a[2] as string,
    limit: a[3] === false || a[3] === '' ? null : Number(a[3]),
    hard: a[4] === '1',
    periodEnd: Number(a[5]),
    limitKeys: a.slice(8, rollover ? -1 : undefined) as string[],
    ...(rollover ? { rollover: { max: Number(rollover[0]), previous: rollover[1] } } : {}),
  };
  const marks = a[7];
  // cjson writes an empty array as {}.
  const list = (x: unknown): number[] => (Array.isArray(x) ? (x as number[]) : []);
  return Array.isArray(marks) ? { ...ref, marks: { fractions: list(marks[0]), amounts: list(marks[1]) } } : ref;
}

/**
 * Reads the totals of `refs` (read and observe: nine values each, and carried for a ref with rollover)
 * from `reply` starting at `at`; returns them and the next position.
 */
export function decodeTotals(
  reply: unknown[],
  at: number,
  refs: readonly InstanceRef[],
): { totals: Array<InstanceTotals | null>; next: number } {
  const totals: Array<InstanceTotals | null> = [];
  let i = at;
  for (const ref of refs) {
    if (Number(reply[i++]) === 0) {
      totals.push(null);
      continue;
    }
    const t: InstanceTotals = {
      limit: Number(reply[i]),
      limitBefore: Number(reply[i + 1]),
      used: Number(reply[i + 2]),
      usedBefore: Number(reply[i + 3]),
      reserved: Number(reply[i + 4]),
      dayUsed: Number(reply[i + 5]),
    };
    const previous = reply[i + 6];
    if (typeof previous === 'string' && previous !== '') t.previous = { period: previous, used: Number(reply[i + 7]) };
    const leased = Number(reply[i + 8]);
    if (leased !== 0) t.leased = leased;
    i += 9;
    if (ref.rollover) t.carried = Number(reply[i++]);
    totals.push(t);
  }
  return { totals, next: i };
}
