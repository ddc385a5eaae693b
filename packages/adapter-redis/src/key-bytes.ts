// The bytes of a key part: UTF-8 for well-formed strings, and WTF-8 for a lone surrogate (three bytes
// that UTF-8 never produces), so two different strings never become one Redis key.

/** The string itself when it is well-formed (ioredis writes it as UTF-8), else its WTF-8 bytes. */
export function keyPart(s: string): string | Buffer {
  let parts: Buffer[] | undefined;
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const u = s.charCodeAt(i);
    if (u < 0xd800 || u > 0xdfff) continue;
    const next = s.charCodeAt(i + 1);
    if (u <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
      i++; // a pair: plain UTF-8
      continue;
    }
    parts ??= [];
    parts.push(Buffer.from(s.slice(run, i), 'utf8'), Buffer.from([0xe0 | (u >> 12), 0x80 | ((u >> 6) & 0x3f), 0x80 | (u & 0x3f)]));
    run = i + 1;
  }
  if (!parts) return s;
  parts.push(Buffer.from(s.slice(run), 'utf8'));
  return Buffer.concat(parts);
}

/** `head` followed by `part`, as one key name. */
export function joinKey(head: string, part: string): string | Buffer {
  const p = keyPart(part);
  return typeof p === 'string' ? head + p : Buffer.concat([Buffer.from(head, 'utf8'), p]);
}
