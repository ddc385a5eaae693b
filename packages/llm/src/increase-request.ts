// increaseRequest: the quota-increase report, built from a budget's history.
import { type SpendGuard, SpendGuardError } from '@spendguard/core';

export interface IncreaseRequest {
  budget: string;
  currentLimit: number;
  requestedLimit: number;
  useCase: string;
  /** The periods used, oldest first (those before the first activity are left out). */
  history: Array<{ period: string; used: number }>;
  averageUsed: number;
  /** Mean growth from one period to the next, over pairs whose earlier period had spend (0 when none). */
  growthRate: number;
  /** The last full period grown once more, plus a 20 % buffer. */
  projectedNeed: number;
  /** true when the requested limit covers the projected need. */
  justified: boolean;
  markdown: string;
}

const BUFFER = 1.2;
const round2 = (n: number) => Math.round(n * 100) / 100;

export async function increaseRequest(
  guard: SpendGuard,
  budget: string,
  options: { requestedLimit: number; useCase: string; periods?: number },
): Promise<IncreaseRequest> {
  const { requestedLimit, useCase } = options;
  if (typeof requestedLimit !== 'number' || !Number.isFinite(requestedLimit) || requestedLimit <= 0) {
    throw new SpendGuardError('INVALID_AMOUNT', `requestedLimit must be a positive amount; got ${String(requestedLimit)}.`);
  }
  const status = await guard.status(budget);
  const all = await guard.history(budget, { periods: options.periods ?? 6 });
  const first = all.findIndex((h) => h.used > 0);
  const history = (first < 0 ? all.slice(-1) : all.slice(first)).map((h) => ({ period: h.period, used: h.used }));
  // The current period is partial: growth and projection use the complete ones when there are any.
  const complete = history.length > 1 ? history.slice(0, -1) : history;
  const averageUsed = round2(history.reduce((s, h) => s + h.used, 0) / history.length);
  const rates: number[] = [];
  for (let i = 1; i < complete.length; i++) {
    const before = (complete[i - 1] as { used: number }).used;
    if (before > 0) rates.push(((complete[i] as { used: number }).used - before) / before);
  }
  const growthRate = rates.length === 0 ? 0 : Math.round((rates.reduce((s, r) => s + r, 0) / rates.length) * 1000) / 1000;
  const last = (complete[complete.length - 1] as { used: number }).used;
  const projectedNeed = round2(last * (1 + Math.max(0, growthRate)) * BUFFER);
  const justified = requestedLimit >= projectedNeed;
  const rows = history.map((h) => `| ${h.period} | ${h.used.toFixed(2)} |`).join('\n');
  const markdown = `## Quota increase request: ${budget}

**Use case:** ${useCase}

| | |
| --- | ---: |
| current limit | ${status.limit.toFixed(2)} |
| requested limit | ${requestedLimit.toFixed(2)} |
| average per period | ${averageUsed.toFixed(2)} |
| growth per period | ${(growthRate * 100).toFixed(1)} % |
| projected need (next period, +20 % buffer) | ${projectedNeed.toFixed(2)} |

| period | used |
| --- | ---: |
${rows}

${justified ? 'The requested limit covers the projected need.' : `The requested limit is below the projected need of ${projectedNeed.toFixed(2)}.`}
`;
  return {
    budget,
    currentLimit: status.limit,
    requestedLimit,
    useCase,
    history,
    averageUsed,
    growthRate,
    projectedNeed,
    justified,
    markdown,
  };
}
