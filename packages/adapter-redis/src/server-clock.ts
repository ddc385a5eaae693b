// The Redis server's clock as seen from this process: an offset from the local monotonic clock, so that
// a call's deadline can be written in server time. The estimate errs early, never late.
import { performance } from 'node:perf_hooks';

/** How long the tightest sample is kept before a fresher (looser) one replaces it, so a clock step is followed. */
const KEEP_BEST_MS = 1000;

export const monotonic = (): number => performance.now();

export class ServerClock {
  /** A lower bound of (server time − local monotonic time), from the latest tight sample. */
  private offset: number | undefined;
  private sampledAt = Number.NEGATIVE_INFINITY;

  get known(): boolean {
    return this.offset !== undefined;
  }

  /**
   * A reply carried the server's time `server` (ms); it was received at local `received`. The server
   * read its clock before the reply left, so server − received is a lower bound of the offset.
   */
  sample(server: number, received: number): void {
    if (!Number.isFinite(server)) return;
    const low = server - received;
    if (this.offset === undefined || low >= this.offset || received - this.sampledAt > KEEP_BEST_MS) {
      this.offset = low;
      this.sampledAt = received;
    }
  }

  /** The server time at local monotonic time `local`, rounded down (a lower bound while the clocks run alike). */
  serverAt(local: number): number {
    return Math.floor(local + (this.offset ?? Number.NEGATIVE_INFINITY));
  }

  /** The local monotonic time at which the server's clock reads `server` at the latest. */
  localAt(server: number): number {
    return server - (this.offset ?? 0);
  }
}
