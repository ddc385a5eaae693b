// Numbers and instants as a person reads them in a table: grouped digits, two decimals unless an
// amount is too small to show that way, dates without seconds.

const TWO = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const FINE = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });

/** A money amount in currency units: 1,234.50; a sub-cent amount keeps its digits (0.000125). */
export function amount(n: number): string {
  return n !== 0 && Math.abs(n) < 0.01 ? FINE.format(n) : TWO.format(n);
}

export function percent(n: number): string {
  return `${n >= 10 || n === 0 ? Math.round(n) : n.toFixed(1)}%`;
}

/** An ISO instant as `2026-05-24 13:05` (UTC), or the date alone when `dateOnly`. */
export function instant(iso: string, dateOnly = false): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  return dateOnly ? text.slice(0, 10) : `${text.slice(0, 10)} ${text.slice(11, 16)}`;
}

/**
 * Text from the store (budget names hold attribute values) as a terminal may show it: control characters
 * (C0, DEL, C1 — whose 8-bit forms some terminals run as escape sequences) and bidirectional overrides
 * (which reorder what follows them) are written as \u{…} instead of being sent raw.
 */
export function printable(text: string): string {
  return text.replace(
    /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g,
    (ch) => `\\u{${(ch.codePointAt(0) as number).toString(16)}}`,
  );
}
