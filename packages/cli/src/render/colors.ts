// Whether the terminal gets colour, and the colour of each level. picocolors does the escaping; the
// decision is ours because picocolors also colours any output under CI, which a pipe must never get.

import type { Level } from '@spendguard/core';
import picocolors from 'picocolors';

export type Colors = ReturnType<typeof picocolors.createColors>;
type Paint = (text: string) => string;

/** NO_COLOR wins, then FORCE_COLOR, then an explicit --color / --no-color, then whether stdout is a terminal. */
export function colorEnabled(
  flag: boolean | undefined,
  env: NodeJS.ProcessEnv = process.env,
  stream: { isTTY?: boolean } = process.stdout,
): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '') return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  if (flag !== undefined) return flag;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function colors(enabled: boolean): Colors {
  return picocolors.createColors(enabled);
}

/** ok green, info cyan, warning yellow, critical bright red, exhausted bold magenta. */
export function levelPaint(c: Colors, level: Level): Paint {
  switch (level) {
    case 'ok':
      return c.green;
    case 'info':
      return c.cyan;
    case 'warning':
      return c.yellow;
    case 'critical':
      return c.redBright;
    case 'exhausted':
      return (s) => c.bold(c.magenta(s));
  }
}
