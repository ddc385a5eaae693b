// classifyProviderError: what an error thrown by an LLM provider's SDK means for the caller —
// out of money (stop), rate limited (wait retryAfterMs), overloaded (retry), or something else.

export interface ProviderErrorClass {
  kind: 'quota_exhausted' | 'rate_limited' | 'overloaded' | 'other';
  retryable: boolean;
  retryAfterMs?: number;
}

type HeaderBag = { get(name: string): string | null } | Record<string, string | string[] | undefined> | undefined;

function header(headers: HeaderBag, name: string): string | undefined {
  if (!headers) return undefined;
  if (typeof (headers as { get?: unknown }).get === 'function')
    return (headers as { get(n: string): string | null }).get(name) ?? undefined;
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** '1s', '6m0s', '20ms', '1h2m3.5s' (OpenAI's x-ratelimit-reset-*) in ms. */
export function parseDuration(text: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = false;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    matched = true;
    const v = Number(m[1]);
    total += m[2] === 'h' ? v * 3_600_000 : m[2] === 'm' ? v * 60_000 : m[2] === 's' ? v * 1000 : v;
  }
  return matched ? Math.ceil(total) : undefined;
}

/** The wait a response asks for: retry-after-ms, retry-after (seconds or a date), or the rate-limit resets. */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  const ms = header(headers, 'retry-after-ms');
  if (ms !== undefined && Number.isFinite(Number(ms))) return Math.max(0, Math.ceil(Number(ms)));
  const after = header(headers, 'retry-after');
  if (after !== undefined) {
    if (Number.isFinite(Number(after))) return Math.max(0, Math.ceil(Number(after) * 1000));
    const at = Date.parse(after);
    if (Number.isFinite(at)) return Math.max(0, at - now);
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']
    .map((name) => header(headers, name))
    .filter((v): v is string => v !== undefined)
    .map(parseDuration)
    .filter((v): v is number => v !== undefined);
  if (resets.length > 0) return Math.max(...resets);
  const anthropicReset = header(headers, 'anthropic-ratelimit-requests-reset') ?? header(headers, 'anthropic-ratelimit-tokens-reset');
  if (anthropicReset !== undefined && Number.isFinite(Date.parse(anthropicReset))) return Math.max(0, Date.parse(anthropicReset) - now);
  return undefined;
}

export function classifyProviderError(err: unknown): ProviderErrorClass {
  const e = (err ?? {}) as { status?: unknown; code?: unknown; type?: unknown; error?: unknown; message?: unknown; headers?: HeaderBag };
  const status = typeof e.status === 'number' ? e.status : undefined;
  const body = (e.error ?? {}) as { code?: unknown; type?: unknown; message?: unknown; error?: { type?: unknown; message?: unknown } };
  const code = String(e.code ?? body.code ?? '');
  const type = String(e.type ?? body.type ?? body.error?.type ?? '');
  const message = String(e.message ?? body.message ?? body.error?.message ?? '').toLowerCase();

  if (
    code === 'insufficient_quota' ||
    code === 'billing_hard_limit_reached' ||
    type === 'insufficient_quota' ||
    /credit balance is too low|billing hard limit|exceeded your current quota/.test(message)
  ) {
    return { kind: 'quota_exhausted', retryable: false };
  }
  const wait = retryAfterMs(e.headers);
  const withWait = (c: ProviderErrorClass): ProviderErrorClass => (wait === undefined ? c : { ...c, retryAfterMs: wait });
  if (status === 429 || type === 'rate_limit_error' || code === 'rate_limit_exceeded')
    return withWait({ kind: 'rate_limited', retryable: true });
  if (status === 529 || type === 'overloaded_error' || status === 503) return withWait({ kind: 'overloaded', retryable: true });
  if (status !== undefined && status >= 500) return withWait({ kind: 'other', retryable: true });
  // The SDKs' APIConnectionError / APIConnectionTimeoutError: the request never got an answer.
  const names = `${String((err as { name?: unknown })?.name ?? '')} ${String((err as object)?.constructor?.name ?? '')}`;
  if (status === undefined && /Connection|Timeout/.test(names)) return { kind: 'other', retryable: true };
  return { kind: 'other', retryable: false };
}
