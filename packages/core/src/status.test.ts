import { describe, expect, it } from 'vitest';
import { compileRules } from './rules.js';
import { statusOf } from './status.js';

describe('statusOf', () => {
  it('reports percentUsed as the exact percentage and the level from exact crossing points', () => {
    const [rule] = compileRules([{ id: 'b', limit: 3, thresholds: { info: 0.07 } }]);
    const now = Date.parse('2026-11-24T12:00:00Z');
    const period = rule!.period.at(now);
    const totals = { limit: 3_000_000, limitBefore: 3_000_000, used: 2_784_960, usedBefore: 0, reserved: 0, dayUsed: 0 };
    expect(statusOf(rule!, 'b', undefined, null, period, totals, now)).toMatchObject({ percentUsed: 92.832, level: 'critical' });
    const atInfo = { ...totals, used: 210_000 };
    expect(statusOf(rule!, 'b', undefined, null, period, atInfo, now)).toMatchObject({ percentUsed: 7, level: 'info' });
  });
});
