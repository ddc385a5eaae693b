// The type of a client wrapped by withBudget with a fallback: each guarded method may answer with
// the fallback's value instead of the provider's, and the caller's types say so.

/** A method whose result may be the fallback's; overloads are kept (up to three, as the SDKs have). */
export type OrFallback<M, F> = M extends {
  (...args: infer A1): infer R1;
  (...args: infer A2): infer R2;
  (...args: infer A3): infer R3;
}
  ? { (...args: A1): Promise<Awaited<R1> | F>; (...args: A2): Promise<Awaited<R2> | F>; (...args: A3): Promise<Awaited<R3> | F> }
  : M extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R> | F>
    : M;

type WithCreate<T, F> = T extends { create: infer M } ? Omit<T, 'create'> & { create: OrFallback<M, F> } : T;

/**
 * `C` with `chat.completions.create`, `responses.create` and `messages.create` answering
 * `Promise<their result | F>`. Without a fallback (F = never) the client keeps its own type.
 */
export type Budgeted<C, F> = [F] extends [never]
  ? C
  : Omit<C, 'chat' | 'responses' | 'messages'> &
      (C extends { chat: infer Chat }
        ? { chat: Chat extends { completions: infer Co } ? Omit<Chat, 'completions'> & { completions: WithCreate<Co, F> } : Chat }
        : unknown) &
      (C extends { responses: infer R } ? { responses: WithCreate<R, F> } : unknown) &
      (C extends { messages: infer M } ? { messages: WithCreate<M, F> } : unknown);
