import { describe, expect, it } from 'vitest';
import { printable } from './format.js';

describe('printable', () => {
  it('shows control characters and bidirectional overrides as escapes, and leaves other text alone', () => {
    expect(printable('user:\u009b31mred')).toBe('user:\\u{9b}31mred');
    expect(printable('a\u202eb\u0007c')).toBe('a\\u{202e}b\\u{7}c');
    expect(printable('project:äpi ✓ <b>')).toBe('project:äpi ✓ <b>');
  });
});
