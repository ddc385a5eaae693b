// Reading the usage out of a provider's stream as it passes: in its last chunk (OpenAI) or spread
// over events (Anthropic).
import type { Usage } from './cost.js';

export type ApiKind = 'openai-chat' | 'openai-responses' | 'anthropic';

/**
 * Collects the usage a stream reports: in its last chunk (OpenAI) or spread over events (Anthropic).
 * `usage` is set only once it is final: a stream left before that costs the estimate, not the
 * partial count (Anthropic's message_start reports 1 output token so far).
 */
export class StreamUsage {
  usage: Usage | undefined;
  started = false;
  private start: Usage | undefined;

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
      this.start = (c.message as { usage?: Usage } | undefined)?.usage ?? undefined;
    } else if (c.type === 'message_delta' && this.start) {
      // The delta's counts are cumulative; a field it leaves out (or null) keeps message_start's.
      const delta = Object.entries((c.usage as Usage | undefined) ?? {}).filter(([, v]) => v !== null && v !== undefined);
      if (delta.some(([k]) => k === 'output_tokens')) this.usage = { ...this.start, ...Object.fromEntries(delta) };
    }
  }
}
