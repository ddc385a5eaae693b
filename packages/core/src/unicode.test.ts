import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormed, isWellFormedByPattern } from './unicode.js';

describe('isWellFormed', () => {
  it.each([
    ['', true],
    ['plain', true],
    ['emoji 😀 pair', true],
    ['\uD83D\uDE00', true],
    ['\uD83D', false], // a high surrogate alone: half an emoji, cut
    ['\uDE00', false],
    ['a\uD83Db', false],
    ['\uDE00\uD83D', false], // reversed pair
    ['\uD83D\uD83D\uDE00', false],
    ['\uD83D\uDE00\uDE00', false],
  ])('%j is %s', (s, expected) => {
    expect(isWellFormed(s)).toBe(expected);
    expect(isWellFormedByPattern(s)).toBe(expected);
  });

  it('the pattern fallback agrees with the definition on any sequence of code units', () => {
    const units = fc.array(fc.oneof(fc.integer({ min: 0xd7fe, max: 0xe001 }), fc.integer({ min: 0, max: 0xffff })), { maxLength: 12 });
    fc.assert(
      fc.property(units, (codes) => {
        const s = String.fromCharCode(...codes);
        let expected = true;
        for (let i = 0; i < codes.length; i++) {
          const c = codes[i] as number;
          const next = codes[i + 1];
          if (c >= 0xd800 && c <= 0xdbff && next !== undefined && next >= 0xdc00 && next <= 0xdfff) i++;
          else if (c >= 0xd800 && c <= 0xdfff) expected = false;
        }
        expect(isWellFormedByPattern(s)).toBe(expected);
        expect(isWellFormed(s)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
