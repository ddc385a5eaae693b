// Counting prompt tokens before a call: exactly with OpenAI's tokenizers (js-tiktoken), and with a
// guaranteed upper bound where no public tokenizer fits (Anthropic): a BPE token covers at least
// one UTF-8 byte, so a text never has more tokens than bytes.
import { getEncoding, type Tiktoken } from 'js-tiktoken';
import type { Provider } from './prices.js';

export interface ChatMessage {
  role: string;
  content?: unknown;
  name?: string;
}

const encoders = new Map<string, Tiktoken>();
function encoder(name: 'o200k_base' | 'cl100k_base'): Tiktoken {
  let e = encoders.get(name);
  if (!e) {
    e = getEncoding(name);
    encoders.set(name, e);
  }
  return e;
}

/** The encoding an OpenAI model uses: cl100k for the GPT-4 / 3.5 generation, o200k for newer ones. */
export function encodingFor(model: string): 'o200k_base' | 'cl100k_base' {
  return /^(gpt-4(?!o|\.1)|gpt-3\.5)/.test(model) ? 'cl100k_base' : 'o200k_base';
}

/** All the text in a message's content: a string, or parts with text (images etc. are not counted). */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content))
    return content.map((part) => textOf((part as { text?: unknown })?.text ?? (part as { content?: unknown })?.content ?? '')).join('\n');
  if (content && typeof content === 'object') return JSON.stringify(content);
  return '';
}

// OpenAI's chat format costs 3 tokens per message (+1 with a name) and 3 to prime the reply.
const OPENAI_PER_MESSAGE = 3;
const OPENAI_REPLY_PRIMING = 3;
// Anthropic's role markers and message framing: generous, per message.
const ANTHROPIC_PER_MESSAGE = 10;

export function countPromptTokens(provider: Provider, model: string, messages: readonly ChatMessage[], system?: unknown): number {
  if (provider === 'openai') {
    const enc = encoder(encodingFor(model));
    let tokens = OPENAI_REPLY_PRIMING;
    for (const m of messages) {
      tokens += OPENAI_PER_MESSAGE + enc.encode(textOf(m.content)).length + enc.encode(m.role ?? '').length;
      if (m.name) tokens += 1 + enc.encode(m.name).length;
    }
    if (system !== undefined) tokens += OPENAI_PER_MESSAGE + enc.encode(textOf(system)).length;
    return tokens;
  }
  let tokens = system === undefined ? 0 : ANTHROPIC_PER_MESSAGE + Buffer.byteLength(textOf(system), 'utf8');
  for (const m of messages) tokens += ANTHROPIC_PER_MESSAGE + Buffer.byteLength(textOf(m.content), 'utf8');
  return tokens;
}
