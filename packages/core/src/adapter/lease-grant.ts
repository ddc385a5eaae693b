// How much of what is free a lease step grants: the arithmetic every store does the same way (the Lua
// mirrors it). Slices shrink near the limit, so that what is left is shared and a refusal is real.
/**
 * `want` while at least twice that is free; else half of what is free, but at least `min`; never more
 * than is free, and nothing when less than `min` (or nothing at all) is free.
 */
export function grantFor(wanted: number, min: number, free: number): number {
  const want = Math.max(wanted, min);
  if (want <= 0 || free <= 0 || free < min) return 0;
  if (free >= 2 * want) return want;
  return Math.min(free, Math.max(min, Math.floor(free / 2)));
}
