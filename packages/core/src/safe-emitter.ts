// An eventemitter3 emitter whose listeners cannot break the call that emitted: a listener that throws,
// or an async listener that rejects, is reported as the event 'error' ({ error, event }), or with
// process.emitWarning when nobody listens for 'error'. The spend it reports on stays recorded.
import { EventEmitter } from 'eventemitter3';

type Listener = (...args: never[]) => unknown;
type Names<E extends object> = EventEmitter.EventNames<E>;
type ListenerOf<E extends object, T extends Names<E>> = EventEmitter.EventListener<E, T>;

const ORIGINAL = Symbol('spendguard.listener');
type Wrapped = Listener & { [ORIGINAL]?: Listener };

export interface ListenerErrorEvent {
  error: unknown;
  /** The name of the event whose listener failed. */
  event: string;
}

export class SafeEmitter<E extends { error: [event: ListenerErrorEvent] }> extends EventEmitter<E> {
  private wrap(event: string | symbol, fn: Listener): Listener {
    const fail = (error: unknown) => this.reportError(String(event), error);
    const wrapped: Wrapped = function (this: unknown, ...args: never[]) {
      try {
        const result = fn.apply(this, args) as { then?: unknown } | undefined;
        if (result && typeof result.then === 'function') (result as Promise<unknown>).then(undefined, fail);
      } catch (error) {
        fail(error);
      }
    };
    wrapped[ORIGINAL] = fn;
    return wrapped;
  }

  /** Reports a failure that must not reach the caller: as the event 'error', else as a process warning. */
  protected reportError(event: string, error: unknown): void {
    if (event !== 'error' && this.listenerCount('error' as Names<E>) > 0) {
      const payload: ListenerErrorEvent = { error, event };
      (this.emit as unknown as (name: string, p: ListenerErrorEvent) => boolean)('error', payload);
      return;
    }
    const detail = describe(error);
    const what = event === 'journal' ? 'the offline journal dropped an entry the store refused' : `a spendguard '${event}' listener failed`;
    process.emitWarning(`${what}: ${detail}`, { code: 'SPENDGUARD_LISTENER', detail });
  }

  override on<T extends Names<E>>(event: T, fn: ListenerOf<E, T>, context?: unknown): this {
    return super.on(event, this.wrap(event, fn as Listener) as ListenerOf<E, T>, context);
  }

  override addListener<T extends Names<E>>(event: T, fn: ListenerOf<E, T>, context?: unknown): this {
    return this.on(event, fn, context);
  }

  override once<T extends Names<E>>(event: T, fn: ListenerOf<E, T>, context?: unknown): this {
    return super.once(event, this.wrap(event, fn as Listener) as ListenerOf<E, T>, context);
  }

  override off<T extends Names<E>>(event: T, fn?: ListenerOf<E, T>, context?: unknown, once?: boolean): this {
    if (!fn) return super.off(event, undefined, context, once);
    for (const wrapped of super.listeners(event) as Wrapped[]) {
      // eventemitter3 removes a once-listener by the function it holds (the wrapper) after calling it.
      if (wrapped[ORIGINAL] === (fn as Listener) || wrapped === (fn as Listener))
        super.off(event, wrapped as ListenerOf<E, T>, context, once);
    }
    return this;
  }

  override removeListener<T extends Names<E>>(event: T, fn?: ListenerOf<E, T>, context?: unknown, once?: boolean): this {
    return this.off(event, fn, context, once);
  }

  override listeners<T extends Names<E>>(event: T): Array<ListenerOf<E, T>> {
    return (super.listeners(event) as Wrapped[]).map((w) => (w[ORIGINAL] ?? w) as ListenerOf<E, T>);
  }
}

/** A thrown value as text, whatever it is: reporting a failure must not fail in turn. */
function describe(error: unknown): string {
  try {
    return error instanceof Error ? error.message : String(error);
  } catch {
    return Object.prototype.toString.call(error);
  }
}
