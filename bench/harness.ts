// Benchmark plumbing: each task runs a batch of awaited calls per iteration, so timer overhead
// is amortised over the batch and ops/s is comparable across tasks of very different speeds.
import { Bench } from 'tinybench';

export interface Row {
  group: string;
  name: string;
  opsPerSec: number;
  /** The name of the row this one is compared with as its store's ceiling (same run). */
  ceiling?: string;
  /** The name of the row of the peer library this one is compared with (same run). */
  peer?: string;
}

export async function measure(
  group: string,
  tasks: Array<{ name: string; batch: number; fn: () => Promise<unknown> }>,
  time = 2000,
): Promise<Row[]> {
  // A few batches are enough: each is already hundreds of calls, and slow stores would take minutes at the default 64.
  const bench = new Bench({ time, warmupTime: 300, iterations: 5 });
  for (const t of tasks) bench.add(t.name, t.fn);
  await bench.run();
  return bench.tasks.map((task) => {
    const t = tasks.find((x) => x.name === task.name) as { batch: number };
    const r = task.result as { throughput?: { mean: number }; hz?: number };
    const hz = r.throughput?.mean ?? r.hz ?? 0;
    return { group, name: task.name, opsPerSec: hz * t.batch };
  });
}

/** Runs `total` calls with at most `inFlight` outstanding at once. */
export async function inFlight(total: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) await call(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

export function printTable(rows: Row[], ratios: Array<{ label: string; of: string; to: string; target?: string }>): string {
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const byName = (name: string | undefined) => (name === undefined ? undefined : rows.find((r) => r.name === name));
  const lines = [
    '| group | task | ops/s | ceiling ops/s | % of ceiling | peer ops/s | × peer |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const r of rows) {
    const ceiling = byName(r.ceiling);
    const peer = byName(r.peer);
    const cells = [
      ceiling ? fmt(ceiling.opsPerSec) : '',
      ceiling ? `${((r.opsPerSec / ceiling.opsPerSec) * 100).toFixed(1)} %` : '',
      peer ? fmt(peer.opsPerSec) : '',
      peer ? `${(r.opsPerSec / peer.opsPerSec).toFixed(2)}×` : '',
    ];
    lines.push(`| ${r.group} | ${r.name} | ${fmt(r.opsPerSec)} | ${cells.join(' | ')} |`);
  }
  lines.push('', '| ratio | value | target |', '| --- | ---: | --- |');
  for (const q of ratios) {
    const a = rows.find((r) => r.name === q.of);
    const b = rows.find((r) => r.name === q.to);
    if (!a || !b) continue;
    lines.push(`| ${q.label} | ${((a.opsPerSec / b.opsPerSec) * 100).toFixed(1)} % | ${q.target ?? ''} |`);
  }
  return lines.join('\n');
}
