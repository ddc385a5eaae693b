// A binary min-heap of (time, id): the next reservation to expire is always at the top, in O(log n).

export class ExpiryQueue {
  private readonly times: number[] = [];
  private readonly ids: string[] = [];

  get size(): number {
    return this.times.length;
  }

  push(time: number, id: string): void {
    const { times, ids } = this;
    let i = times.length;
    times.push(time);
    ids.push(id);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((times[parent] as number) <= time) break;
      times[i] = times[parent] as number;
      ids[i] = ids[parent] as string;
      i = parent;
    }
    times[i] = time;
    ids[i] = id;
  }

  /** Removes and returns the id at the top if its time is at or before `now`. */
  popDue(now: number): string | undefined {
    const { times, ids } = this;
    if (times.length === 0 || (times[0] as number) > now) return undefined;
    const top = ids[0];
    const lastTime = times.pop() as number;
    const lastId = ids.pop() as string;
    const n = times.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (times[r] as number) < (times[l] as number) ? r : l;
        if ((times[c] as number) >= lastTime) break;
        times[i] = times[c] as number;
        ids[i] = ids[c] as string;
        i = c;
      }
      times[i] = lastTime;
      ids[i] = lastId;
    }
    return top;
  }
}
