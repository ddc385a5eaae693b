// A clock that tests move by hand, so periods and expiry can be crossed without waiting.

export class ManualClock {
  constructor(private current: number) {}

  readonly now = (): number => this.current;

  set(ms: number | string): void {
    this.current = typeof ms === 'string' ? Date.parse(ms) : ms;
  }

  advance(ms: number): void {
    this.current += ms;
  }
}
