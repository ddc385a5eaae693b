// Budget instance names: 'monthly', 'project:api', 'pair:api,gpt-4.1'. Injective whatever bytes a value holds.

/**
 * Characters with a meaning in an instance name (`:` after the rule, `,` between values,
 * `*` the wildcard key, `%` the escape itself) or in a store key (`{` `}` Redis hash tags), plus
 * control characters, are percent-escaped so that two different value lists never share a name.
 */
const NEEDS_ESCAPE = /[%,:*{}\u0000-\u001f\u007f]/g;
const HAS_SPECIAL = /[%,:*{}\u0000-\u001f\u007f]/;

export function escapeValue(value: string): string {
  if (!HAS_SPECIAL.test(value)) return value; // the common case, without allocating
  return value.replace(NEEDS_ESCAPE, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

export function unescapeValue(value: string): string {
  return value.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
}

export const WILDCARD = '*';

/** The key part of an instance name from its attribute values, in the order of the rule's `per`. */
export function instanceKey(values: readonly string[]): string {
  return values.map(escapeValue).join(',');
}

export function instanceName(ruleId: string, key?: string): string {
  return key === undefined ? ruleId : `${ruleId}:${key}`;
}

/**
 * Whether `key` is one a call could produce for a rule with `perCount` attributes: that many values,
 * each escaped exactly as escapeValue writes it and 1–`maxLength` characters once unescaped. A name
 * typed by hand ('project:a:b', 'project:a%3ab') would otherwise name a record no call ever touches.
 */
export function isInstanceKey(key: string, perCount: number, maxLength: number): boolean {
  const parts = perCount === 1 ? [key] : key.split(',');
  if (parts.length !== perCount) return false;
  return parts.every((part) => {
    const value = unescapeValue(part);
    return value.length > 0 && value.length <= maxLength && escapeValue(value) === part;
  });
}

/** Splits 'project:api' into its rule id and key. */
export function parseInstanceName(name: string): { ruleId: string; key?: string } {
  const colon = name.indexOf(':');
  return colon < 0 ? { ruleId: name } : { ruleId: name.slice(0, colon), key: name.slice(colon + 1) };
}
