// Calling the store: a sync or async adapter method as one awaited step, its failures as SpendGuardErrors.
import { storeUnavailable } from './error-factories.js';

export async function fromStore<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw storeUnavailable(err);
  }
}
