// Settling a streamed call exactly once, whichever way its stream is read (for await, toReadableStream,
// tee), and at once when it is left early, cancelled or fails.
import type { StreamUsage } from './stream-usage.js';

type Chunks = { next(): Promise<IteratorResult<unknown>>; return?(value?: unknown): Promise<IteratorResult<unknown>> };
/** The shape of the OpenAI and Anthropic SDKs' Stream: every way of reading it goes through `iterator`. */
type SdkStream = {
  iterator: () => Chunks;
  tee?: () => SdkStream[];
  controller?: { signal?: AbortSignal };
};

/** Yields what `inner` yields; `onLeave` runs once it ends, fails or is returned, before that settles. */
async function* relay(inner: Chunks, onChunk: ((chunk: unknown) => void) | undefined, onLeave: () => Promise<void>) {
  let done = false;
  try {
    while (true) {
      const r = await inner.next();
      if (r.done) {
        done = true;
        return;
      }
      onChunk?.(r.value);
      yield r.value;
    }
  } finally {
    // Left early: close the source (the SDK aborts the request), then settle.
    if (!done) await inner.return?.().catch(() => {});
    await onLeave();
  }
}

/**
 * Routes a stream's `iterator` through `relay`. Only the first iteration owns `onLeave`: the SDK
 * refuses a second one (already consumed), which must not settle the first. A tee's branches, once
 * all of them are left, return the iteration the tee took, so the source settles too.
 */
function instrument(s: SdkStream, onChunk: ((chunk: unknown) => void) | undefined, onLeave: () => Promise<void>): void {
  const iterator = s.iterator;
  let claimed = false;
  let latest: Chunks | undefined;
  s.iterator = function (this: unknown) {
    latest = relay(iterator.call(this), onChunk, claimed ? async () => {} : onLeave);
    claimed = true;
    return latest;
  };
  const tee = s.tee;
  if (typeof tee !== 'function') return;
  s.tee = function (this: unknown) {
    const branches = tee.call(this); // takes one iteration of this stream, through s.iterator
    const source = latest;
    let open = branches.length;
    for (const b of branches) {
      if (typeof b?.iterator !== 'function') continue;
      instrument(b, undefined, async () => {
        if (--open === 0) await source?.return?.();
      });
    }
    return branches;
  };
}

/**
 * The same stream object, observed by `usage`, calling `settle` exactly once: when it ends, fails or
 * is left early, and at once when the request is aborted (its controller or a signal of the caller).
 */
export function watchStream<S extends object>(stream: S, usage: StreamUsage, settle: () => Promise<void>, signal?: AbortSignal): S {
  let settling: Promise<void> | undefined;
  const signals = [(stream as Partial<SdkStream>).controller?.signal, signal].filter((s): s is AbortSignal => s instanceof AbortSignal);
  const once = (): Promise<void> => {
    if (!settling) {
      for (const s of signals) s.removeEventListener('abort', once);
      settling = settle();
    }
    return settling;
  };
  const observe = (chunk: unknown) => {
    if (!settling) usage.observe(chunk);
  };
  if (signals.some((s) => s.aborted)) void once();
  else for (const s of signals) s.addEventListener('abort', once, { once: true });

  if (typeof (stream as Partial<SdkStream>).iterator === 'function') {
    instrument(stream as unknown as SdkStream, observe, once);
    return stream;
  }
  // Any other async iterable: only its async iterator can be observed.
  const source = stream as unknown as AsyncIterable<unknown>;
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => relay(source[Symbol.asyncIterator](), observe, once);
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
