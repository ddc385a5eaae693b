// Reading the usage out of a provider's stream as it passes, and settling the reservation once the
// stream ends, fails or is abandoned.
import type { Usage } from './cost.js';

export type ApiKind = 'openai-chat' | 'openai-responses' | 'anthropic';

/** Collects the usage a stream reports: in its last chunk (OpenAI) or spread over events (Anthropic). */
export class StreamUsage {
  usage: Usage | undefined;
  started = false;

  constructor(private readonly kind: ApiKind) {}

  observe(chunk: unknown): void {
    this.started = true;
    const c = chunk as Record<string, unknown>;
    if (this.kind === 'openai-chat') {
      if (c.usage) this.usage = c.usage as Usage;
    } else if (this.kind === 'openai-responses') {
      const response = c.response as { usage?: Usage } | undefined;
      if (response?.usage && /^response\.(completed|incomplete|failed)$/.test(String(c.type))) this.usage = response.usage;
    } else if (c.type === 'message_start') {
      const start = (c.message as { usage?: Usage } | undefined)?.usage;
      if (start) this.usage = { ...start };
    } else if (c.type === 'message_delta' && this.usage) {
      const delta = c.usage as { output_tokens?: number } | undefined;
      if (delta?.output_tokens !== undefined) this.usage = { ...this.usage, output_tokens: delta.output_tokens };
    }
  }
}

/**
 * The same stream object (its other methods keep working), iterating through `observe` and calling
 * `settle` exactly once when iteration ends for any reason.
 */
export function watchStream<S extends object>(stream: S, usage: StreamUsage, settle: () => Promise<void>): S {
  let settled = false;
  const once = async () => {
    if (settled) return;
    settled = true;
    await settle();
  };
  const source = stream as unknown as AsyncIterable<unknown>;
  async function* iterate() {
    try {
      for await (const chunk of source) {
        usage.observe(chunk);
        yield chunk;
      }
    } finally {
      await once();
    }
  }
  return new Proxy(stream, {
    get(target, prop) {
      if (prop === Symbol.asyncIterator) return () => iterate();
      const value = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
