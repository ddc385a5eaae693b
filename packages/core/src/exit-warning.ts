// A process that exits with spends not yet in the store (journalled offline, or admitted out of leased
// slices) loses them: say so on stderr, with the amounts, instead of dropping them silently. (An exit
// handler can only do synchronous work.)
import { writeSync } from 'node:fs';

export interface PendingSource {
  /** What waits to be written, as one sentence for stderr, or undefined when nothing does. */
  pendingAtExit(): string | undefined;
}

const sources = new Set<PendingSource>();
let installed = false;

function onExit(): void {
  const lines: string[] = [];
  for (const s of sources) {
    const line = s.pendingAtExit();
    if (line !== undefined) lines.push(`spendguard: ${line}\n`);
  }
  if (lines.length === 0) return;
  try {
    writeSync(2, lines.join(''));
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
