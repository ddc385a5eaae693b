// Well-formed Unicode: text without lone surrogates, which no store or encoding can keep as it was given.

/** A lone high surrogate (no low one after it) or a lone low surrogate (no high one before it). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The regular-expression check, for runtimes without String.prototype.isWellFormed (before Node 20). */
export function isWellFormedByPattern(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

const native = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;

/** Whether `s` is well-formed UTF-16: every surrogate is half of a pair. */
export const isWellFormed: (s: string) => boolean = native ? (s) => native.call(s) : isWellFormedByPattern;
