// The budget level machine (xstate v5). Every level change of a budget instance is decided here.
import { type SnapshotFrom, setup, transition } from 'xstate';
import { DEFAULT_THRESHOLDS, type Level, levelFor, type Thresholds } from './thresholds.js';

export type BudgetMachineEvent =
  /** Usage or the limit changed: move to the level that `used / limit` is at now. */
  | { type: 'USAGE'; used: number; limit: number }
  /** A new period began: back to ok. */
  | { type: 'RESET' };

const towards = (level: Level) => ({ guard: { type: 'isAt' as const, params: { level } }, target: `.${level}` });

export const budgetMachine = setup({
  types: {
    context: {} as { thresholds: Thresholds },
    input: {} as { thresholds?: Thresholds } | undefined,
    events: {} as BudgetMachineEvent,
  },
  guards: {
    isAt: ({ context, event }, params: { level: Level }) =>
      event.type === 'USAGE' && levelFor(event.used, event.limit, context.thresholds) === params.level,
  },
}).createMachine({
  id: 'budget',
  initial: 'ok',
  context: ({ input }) => ({ thresholds: input?.thresholds ?? DEFAULT_THRESHOLDS }),
  on: {
    // Root-level transitions: a single call may jump over several levels, in either direction.
    USAGE: [towards('exhausted'), towards('critical'), towards('warning'), towards('info'), towards('ok')],
    RESET: { target: '.ok' },
  },
  // Not `type: 'final'` for exhausted: a reset out of a final state would leave the snapshot 'done'.
  states: { ok: {}, info: {}, warning: {}, critical: {}, exhausted: {} },
});

export type BudgetSnapshot = SnapshotFrom<typeof budgetMachine>;

/**
 * Pure stepping of the machine without a running actor (there may be millions of instances).
 * Snapshots at each level are resolved once per threshold set and reused.
 */
export class LevelStepper {
  private readonly snapshots = new Map<Level, BudgetSnapshot>();

  constructor(private readonly thresholds: Thresholds) {}

  private snapshotAt(level: Level): BudgetSnapshot {
    let snapshot = this.snapshots.get(level);
    if (!snapshot) {
      snapshot = budgetMachine.resolveState({ value: level, context: { thresholds: this.thresholds } });
      this.snapshots.set(level, snapshot);
    }
    return snapshot;
  }

  next(from: Level, event: BudgetMachineEvent): Level {
    const [snapshot] = transition(budgetMachine, this.snapshotAt(from), event);
    return snapshot.value as Level;
  }
}
