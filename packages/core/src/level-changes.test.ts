import { describe, expect, it } from 'vitest';
import { type LevelContext, levelChange } from './level-changes.js';
import { LevelStepper } from './machine.js';
import type { Thresholds } from './thresholds.js';

function ctx(thresholds: Thresholds, softLimit: number | null): LevelContext {
  return {
    budget: 'b',
    period: '2026-11',
    thresholds,
    stepper: new LevelStepper(thresholds),
    softLimit,
    at: Date.parse('2026-11-24T00:00:00Z'),
  };
}

describe('levelChange', () => {
  const t: Thresholds = { info: 0.07, warning: 0.75, critical: 0.9, exhausted: 1 };

  it('alerts at the exact crossing point (limit 3, info 0.07, spend 0.21)', () => {
    const change = levelChange(ctx(t, null), 0, 3_000_000, 210_000, 3_000_000);
    expect(change?.transition).toMatchObject({ from: 'ok', to: 'info' });
    expect(change?.alerts.map((a) => a.level)).toEqual(['info']);
  });

  it('orders a level and the soft limit by their exact crossing points; at a tie the level comes first', () => {
    // info crosses at exactly 210000, as does the soft limit: neither is "above" the other.
    const tie = levelChange(ctx(t, 210_000), 0, 3_000_000, 2_400_000, 3_000_000);
    expect(tie?.alerts.map((a) => a.level)).toEqual(['info', 'soft_limit', 'warning']);
    const below = levelChange(ctx(t, 209_999), 0, 3_000_000, 2_400_000, 3_000_000);
    expect(below?.alerts.map((a) => a.level)).toEqual(['soft_limit', 'info', 'warning']);
    const above = levelChange(ctx(t, 2_250_001), 0, 3_000_000, 2_400_000, 3_000_000);
    expect(above?.alerts.map((a) => a.level)).toEqual(['info', 'warning', 'soft_limit']);
  });

  it('reports percentUsed as the exact percentage and rounds the message from the exact ratio', () => {
    const custom: Thresholds = { info: 0.1, warning: 0.75, critical: 0.9, exhausted: 1 };
    const [critical] = levelChange(ctx(t, null), 2_699_999, 3_000_000, 2_784_960, 3_000_000)?.alerts ?? [];
    expect(critical).toMatchObject({ level: 'critical', percentUsed: 92.832 }); // not 92.83200000000001
    expect(critical?.message).toContain('92.8% used (2.78496 of 3)');
    const [info] = levelChange(ctx(custom, null), 0, 10_000, 1235, 10_000)?.alerts ?? [];
    expect(info).toMatchObject({ level: 'info', percentUsed: 12.35 });
    expect(info?.message).toContain('12.4% used'); // (12.35).toFixed(1) is '12.3'
  });
});
