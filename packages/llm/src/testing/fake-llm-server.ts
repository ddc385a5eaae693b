// A fake OpenAI- and Anthropic-compatible HTTP server on loopback, for tests and the demo: realistic
// bodies, server-sent-event streams, usage, and the errors the real APIs return. Models whose name
// starts with 'fail-' answer with an error: fail-quota, fail-rate, fail-500, fail-overloaded, fail-credit.
// Request headers shape one answer: see FAKE_HEADERS.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type ChatMessage, countPromptTokens } from '../tokens.js';

export interface FakeUsage {
  /** A fixed count, or 'counted': the request's prompt counted with the model's tokenizer. */
  promptTokens: number | 'counted';
  cachedTokens: number;
  cacheWriteTokens: number;
  completionTokens: number;
  reasoningTokens: number;
}

export interface FakeLlmServer {
  url: string;
  /** Base URL for the OpenAI SDK (`${url}/v1`). */
  openaiBaseURL: string;
  /** Base URL for the Anthropic SDK. */
  anthropicBaseURL: string;
  /** Every request body received, in order. */
  requests: Array<{ path: string; body: Record<string, unknown> }>;
  usage: FakeUsage;
  close(): Promise<void>;
}

/** Request headers that change how the fake server answers that one request. */
export const FAKE_HEADERS = {
  /** 'omit': the answer carries no usage (neither in the body nor anywhere in the stream). */
  usage: 'x-fake-usage',
  /** Milliseconds between stream events: a test can act mid-stream. */
  delayMs: 'x-fake-delay-ms',
  /** How many stream events are sent at once before the delays start (default 1). */
  pauseAfter: 'x-fake-pause-after',
  /** Cut the connection after this many stream events: the stream fails mid-way. */
  dropAfter: 'x-fake-drop-after',
} as const;

interface Behaviour {
  omitUsage: boolean;
  delayMs: number;
  pauseAfter: number;
  dropAfter: number | undefined;
}

function behaviourOf(req: IncomingMessage): Behaviour {
  const header = (name: string) => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const delay = Number(header(FAKE_HEADERS.delayMs) ?? 0);
  const drop = header(FAKE_HEADERS.dropAfter);
  const pause = Number(header(FAKE_HEADERS.pauseAfter) ?? 1);
  return {
    pauseAfter: Number.isInteger(pause) && pause > 0 ? pause : 1,
    omitUsage: header(FAKE_HEADERS.usage) === 'omit',
    delayMs: Number.isFinite(delay) && delay > 0 ? delay : 0,
    dropAfter: drop === undefined ? undefined : Number(drop),
  };
}

const DEFAULT_USAGE: FakeUsage = {
  promptTokens: 1200,
  cachedTokens: 200,
  cacheWriteTokens: 100,
  completionTokens: 300,
  reasoningTokens: 100,
};
const TEXT = ['Budgets ', 'keep ', 'spend ', 'in ', 'check.'];

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function sse(res: ServerResponse, b: Behaviour, events: Array<{ event?: string; data: unknown }>, done = false): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const frames = events.map((e) => `${e.event ? `event: ${e.event}\n` : ''}data: ${JSON.stringify(e.data)}\n\n`);
  if (done) frames.push('data: [DONE]\n\n');
  let i = 0;
  const next = (): void => {
    if (res.destroyed) return; // the client went away: stop, as a real server does
    if (b.dropAfter !== undefined && i >= b.dropAfter) {
      res.socket?.end(); // after what was written, without the end of the body: the reader sees a cut
      return;
    }
    if (i === frames.length) {
      res.end();
      return;
    }
    res.write(frames[i++] as string);
    if (b.delayMs > 0 && i >= b.pauseAfter) setTimeout(next, b.delayMs);
    else next();
  };
  next();
}

function openaiError(res: ServerResponse, model: string): boolean {
  if (model === 'fail-quota') {
    json(res, 429, {
      error: {
        message: 'You exceeded your current quota, please check your plan and billing details.',
        type: 'insufficient_quota',
        param: null,
        code: 'insufficient_quota',
      },
    });
  } else if (model === 'fail-rate') {
    json(
      res,
      429,
      { error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
      { 'x-ratelimit-reset-requests': '1s', 'x-ratelimit-reset-tokens': '6m0s' },
    );
  } else if (model === 'fail-500') {
    json(res, 500, {
      error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null },
    });
  } else return false;
  return true;
}

function anthropicError(res: ServerResponse, model: string): boolean {
  const error = (status: number, type: string, message: string, headers: Record<string, string> = {}) =>
    json(res, status, { type: 'error', error: { type, message } }, { 'request-id': 'req_fake', ...headers });
  if (model === 'fail-overloaded') error(529, 'overloaded_error', 'Overloaded');
  else if (model === 'fail-rate')
    error(429, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit', { 'retry-after': '7' });
  else if (model === 'fail-credit')
    error(
      400,
      'invalid_request_error',
      'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.',
    );
  else return false;
  return true;
}

function chat(res: ServerResponse, body: Record<string, unknown>, u: FakeUsage & { promptTokens: number }, b: Behaviour): void {
  const model = String(body.model);
  if (openaiError(res, model)) return;
  const created = Math.floor(Date.now() / 1000);
  const usage = {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens, audio_tokens: 0 },
    completion_tokens_details: {
      reasoning_tokens: u.reasoningTokens,
      audio_tokens: 0,
      accepted_prediction_tokens: 0,
      rejected_prediction_tokens: 0,
    },
  };
  if (body.stream !== true) {
    json(res, 200, {
      id: 'chatcmpl-fake',
      object: 'chat.completion',
      created,
      model,
      choices: [{ index: 0, message: { role: 'assistant', content: TEXT.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' }],
      ...(b.omitUsage ? {} : { usage }),
    });
    return;
  }
  const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({
    data: { id: 'chatcmpl-fake', object: 'chat.completion.chunk', created, model, choices, ...extra },
  });
  const events = [
    chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]),
    ...TEXT.map((t) => chunk([{ index: 0, delta: { content: t }, finish_reason: null }])),
    chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
  ];
  if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage && !b.omitUsage) events.push(chunk([], { usage }));
  sse(res, b, events, true);
}

function responses(res: ServerResponse, body: Record<string, unknown>, u: FakeUsage & { promptTokens: number }, b: Behaviour): void {
  const model = String(body.model);
  if (openaiError(res, model)) return;
  const base = {
    id: 'resp_fake',
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    model,
    error: null,
    incomplete_details: null,
  };
  const usage = {
    input_tokens: u.promptTokens,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.completionTokens,
    output_tokens_details: { reasoning_tokens: u.reasoningTokens },
    total_tokens: u.promptTokens + u.completionTokens,
  };
  const output = [
    {
      type: 'message',
      id: 'msg_fake',
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: TEXT.join(''), annotations: [] }],
    },
  ];
  if (body.stream !== true) {
    json(res, 200, { ...base, status: 'completed', output, ...(b.omitUsage ? {} : { usage }) });
    return;
  }
  let seq = 0;
  sse(res, b, [
    {
      event: 'response.created',
      data: { type: 'response.created', sequence_number: seq++, response: { ...base, status: 'in_progress', output: [], usage: null } },
    },
    ...TEXT.map((delta) => ({
      event: 'response.output_text.delta',
      data: { type: 'response.output_text.delta', sequence_number: seq++, item_id: 'msg_fake', output_index: 0, content_index: 0, delta },
    })),
    {
      event: 'response.completed',
      data: {
        type: 'response.completed',
        sequence_number: seq++,
        response: { ...base, status: 'completed', output, ...(b.omitUsage ? {} : { usage }) },
      },
    },
  ]);
}

function messages(res: ServerResponse, body: Record<string, unknown>, u: FakeUsage & { promptTokens: number }, b: Behaviour): void {
  const model = String(body.model);
  if (anthropicError(res, model)) return;
  const usage = {
    input_tokens: u.promptTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cachedTokens,
    output_tokens: u.completionTokens,
  };
  const message = { id: 'msg_fake', type: 'message', role: 'assistant', model };
  if (body.stream !== true) {
    const answer = { ...message, content: [{ type: 'text', text: TEXT.join('') }], stop_reason: 'end_turn', stop_sequence: null };
    json(res, 200, b.omitUsage ? answer : { ...answer, usage });
    return;
  }
  const startUsage = b.omitUsage ? {} : { usage: { ...usage, output_tokens: 1 } };
  sse(res, b, [
    {
      event: 'message_start',
      data: {
        type: 'message_start',
        message: { ...message, content: [], stop_reason: null, stop_sequence: null, ...startUsage },
      },
    },
    { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } } },
    ...TEXT.map((text) => ({
      event: 'content_block_delta',
      data: { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } },
    })),
    { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    {
      event: 'message_delta',
      data: {
        type: 'message_delta',
        delta: { stop_reason: 'end_turn', stop_sequence: null },
        ...(b.omitUsage ? {} : { usage: { output_tokens: u.completionTokens } }),
      },
    },
    { event: 'message_stop', data: { type: 'message_stop' } },
  ]);
}

/** The usage of one request: a counted prompt, and output no longer than the request allows. */
function resolved(u: FakeUsage, body: Record<string, unknown>, provider: 'openai' | 'anthropic'): FakeUsage & { promptTokens: number } {
  const cap = [body.max_tokens, body.max_completion_tokens, body.max_output_tokens].find((v): v is number => typeof v === 'number');
  const completionTokens = cap === undefined ? u.completionTokens : Math.min(cap, u.completionTokens);
  if (u.promptTokens !== 'counted') return { ...u, promptTokens: u.promptTokens, completionTokens };
  const input = body.input;
  const messages = (typeof input === 'string' ? [{ role: 'user', content: input }] : (input ?? body.messages ?? [])) as ChatMessage[];
  // Anthropic's byte bound is far above a real count: report a third of it, still never above the estimate.
  const counted = countPromptTokens(provider, String(body.model), messages, body.system ?? body.instructions);
  const promptTokens = provider === 'anthropic' ? Math.ceil(counted / 3) : counted;
  return { ...u, promptTokens, cachedTokens: 0, cacheWriteTokens: 0, completionTokens };
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

export async function startFakeLlmServer(usage: Partial<FakeUsage> = {}): Promise<FakeLlmServer> {
  const requests: FakeLlmServer['requests'] = [];
  const u: FakeUsage = { ...DEFAULT_USAGE, ...usage };
  const server: Server = createServer((req, res) => {
    readBody(req)
      .then((body) => {
        const path = (req.url ?? '').split('?')[0] as string;
        requests.push({ path, body });
        const b = behaviourOf(req);
        if (path === '/v1/chat/completions') chat(res, body, resolved(u, body, 'openai'), b);
        else if (path === '/v1/responses') responses(res, body, resolved(u, body, 'openai'), b);
        else if (path === '/v1/messages') messages(res, body, resolved(u, body, 'anthropic'), b);
        else json(res, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } });
      })
      .catch((err: Error) => json(res, 400, { error: { message: err.message, type: 'invalid_request_error' } }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    usage: u,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // a stream a test left open must not hold the close up
      }),
  };
}
