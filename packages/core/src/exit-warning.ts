// A process that exits with journalled spends not yet in the store loses them: say so on stderr,
// with the amounts, instead of dropping them silently. (An exit handler can only do synchronous work.)
import { writeSync } from 'node:fs';

export interface PendingSource {
  /** How many calls and how much money (currency units) wait to be written. */
  pending(): { calls: number; amount: number };
}

const sources = new Set<PendingSource>();
let installed = false;

function onExit(): void {
  let calls = 0;
  let amount = 0;
  for (const s of sources) {
    const p = s.pending();
    calls += p.calls;
    amount += p.amount;
  }
  if (calls === 0) return;
  try {
    writeSync(
      2,
      `spendguard: the process exits with ${calls} journalled call(s) (${amount} in all) not written to the budget store. Call guard.close() before exiting; it rejects with error.unflushed when the store cannot take them.\n`,
    );
  } catch {
    // stderr is gone: nothing more can be done at exit
  }
}

export function watchAtExit(source: PendingSource): void {
  sources.add(source);
  if (!installed) {
    installed = true;
    process.once('exit', onExit);
  }
}

export function unwatchAtExit(source: PendingSource): void {
  sources.delete(source);
}
