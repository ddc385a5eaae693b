import { describe, expect, it } from 'vitest';
import { initialTransition, transition } from 'xstate';
import { budgetMachine, LevelStepper } from './machine.js';
import { DEFAULT_THRESHOLDS, levelFor } from './thresholds.js';

describe('budgetMachine', () => {
  it('starts at ok and moves to the level that used / limit is at, in one step, either way', () => {
    const [s0] = initialTransition(budgetMachine, { thresholds: DEFAULT_THRESHOLDS });
    expect(s0.value).toBe('ok');
    const [s1] = transition(budgetMachine, s0, { type: 'USAGE', used: 95, limit: 100 });
    expect(s1.value).toBe('critical');
    const [s2] = transition(budgetMachine, s1, { type: 'USAGE', used: 95, limit: 1000 });
    expect(s2.value).toBe('ok');
    const [s3] = transition(budgetMachine, s2, { type: 'USAGE', used: 100, limit: 100 });
    expect(s3.value).toBe('exhausted');
    const [s4] = transition(budgetMachine, s3, { type: 'RESET' });
    expect(s4.value).toBe('ok');
    expect(s4.status).toBe('active');
  });

  it('agrees with the threshold function for custom thresholds', () => {
    const t = { info: 0.2, warning: 0.4, critical: 0.6, exhausted: 0.8 };
    const stepper = new LevelStepper(t);
    for (let used = 0; used <= 100; used += 5) {
      expect(stepper.next('ok', { type: 'USAGE', used, limit: 100 })).toBe(levelFor(used, 100, t));
    }
  });
});
