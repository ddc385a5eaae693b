// A budget as a bar of terminal cells: used in eighths of a cell, then what reservations and leased
// slices hold, then what is free, each as its own glyph so the bar reads without colour too.

const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
export const FULL = '█';
export const HELD = '▒';
export const FREE = '░';

export interface BarParts {
  used: string;
  held: string;
  free: string;
}

/** The parts of a `width`-cell bar for `used` and `held` (reserved + leased) out of `limit`. */
export function barParts(used: number, held: number, limit: number, width: number): BarParts {
  const cells = width * 8;
  const fraction = (n: number) => (limit > 0 ? Math.max(0, Math.min(1, n / limit)) : n > 0 ? 1 : 0);
  // A budget with any spend shows at least an eighth: an empty bar must mean nothing was spent.
  let usedEighths = Math.round(fraction(used) * cells);
  if (used > 0 && usedEighths === 0) usedEighths = 1;
  if (used < limit && usedEighths === cells && limit > 0) usedEighths = cells - 1;
  const whole = Math.floor(usedEighths / 8);
  const partial = EIGHTHS[usedEighths % 8] ?? '';
  const usedCells = whole + (partial ? 1 : 0);
  const heldCells = Math.min(width - usedCells, Math.round(fraction(held) * width));
  return {
    used: FULL.repeat(whole) + partial,
    held: HELD.repeat(Math.max(0, heldCells)),
    free: FREE.repeat(Math.max(0, width - usedCells - Math.max(0, heldCells))),
  };
}
