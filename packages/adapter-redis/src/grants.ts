// Grants as the scripts keep them (lua/grant.lua): per instance name, a JSON list of
// [id, amount, expiresAt, grantedAt, reason?]. The numbers go as strings because the scripts write the
// list back with cjson, which would round them to 14 digits.
import type { Grant } from '@spendguard/core/adapter';

type StoredGrant = [id: string, amount: string, expiresAt: string, grantedAt: string, reason?: string];

/** One grant as the grant script's argument (its name goes apart: it is the hash field). */
export function encodeGrant(g: Grant): string {
  const stored: StoredGrant = [g.id, String(g.amount), String(g.expiresAt), String(g.grantedAt)];
  if (g.reason !== undefined) stored.push(g.reason);
  return JSON.stringify(stored);
}

/** The grants hash as HGETALL returns it (name, list, name, list…) back into grants. */
export function decodeGrants(flat: readonly string[]): Grant[] {
  const grants: Grant[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i] as string;
    for (const [id, amount, expiresAt, grantedAt, reason] of JSON.parse(flat[i + 1] as string) as StoredGrant[]) {
      const grant: Grant = { id, name, amount: Number(amount), expiresAt: Number(expiresAt), grantedAt: Number(grantedAt) };
      grants.push(reason === undefined ? grant : { ...grant, reason });
    }
  }
  return grants;
}
