// Encoding refs for the scripts and decoding their flat replies into the SPI's shapes.
import type { InstanceRef, InstanceTotals } from '@spendguard/core/adapter';

type EncodedRef = Array<string | false | [readonly number[], readonly number[]]>;

/**
 * One ref as the scripts read it: `[name, period, day, limit | false, hard '1'/'0', periodEnd, rule,
 * marks ([fractions, amounts]) | false, ...limitKeys]`.
 */
export function encodeRef(r: InstanceRef): EncodedRef {
  return [
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
}

/** The refs as one JSON argument, appended to `out`. */
export function encodeRefs(refs: readonly InstanceRef[], out: Array<string | number>): Array<string | number> {
  out.push(JSON.stringify(refs.map(encodeRef)));
  return out;
}

/** A ref stored inside a reservation (cjson array) back into an InstanceRef. */
export function decodeStoredRef(a: EncodedRef): InstanceRef {
  const ref: InstanceRef = {
    name: a[0] as string,
    rule: a[6] as string,
    period: a[1] as string,
    day: a[2] as string,
    limit: a[3] === false || a[3] === '' ? null : Number(a[3]),
    hard: a[4] === '1',
    periodEnd: Number(a[5]),
    limitKeys: a.slice(8) as string[],
  };
  const marks = a[7];
  // cjson writes an empty array as {}.
  const list = (x: unknown): number[] => (Array.isArray(x) ? (x as number[]) : []);
  return Array.isArray(marks) ? { ...ref, marks: { fractions: list(marks[0]), amounts: list(marks[1]) } } : ref;
}

/** Reads `count` totals (read and observe: nine values each) from `reply` starting at `at`; returns them and the next position. */
export function decodeTotals(reply: unknown[], at: number, count: number): { totals: Array<InstanceTotals | null>; next: number } {
  const totals: Array<InstanceTotals | null> = [];
  let i = at;
  for (let n = 0; n < count; n++) {
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
    totals.push(t);
    i += 9;
  }
  return { totals, next: i };
}
