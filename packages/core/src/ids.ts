// Spend and reservation ids: unique across processes without a round trip (random prefix + counter).
import { randomBytes } from 'node:crypto';

export class IdSource {
  private readonly prefix = randomBytes(8).toString('base64url');
  private counter = 0;

  /** This source's name as a lease holder in the store: unique per guard, like its ids. */
  holder(): string {
    return `g_${this.prefix}`;
  }

  next(kind: 'sp' | 'rs' | 'gr'): string {
    this.counter++;
    return `${kind}_${this.prefix}${this.counter.toString(36)}`;
  }
}
