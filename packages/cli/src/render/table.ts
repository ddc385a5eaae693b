// Aligned columns for terminal output: widths measured without colour codes, numbers right-aligned.
import { stripVTControlCharacters } from 'node:util';

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

export function visibleWidth(text: string): number {
  return [...stripVTControlCharacters(text)].length;
}

function pad(text: string, width: number, align: 'left' | 'right'): string {
  const gap = ' '.repeat(Math.max(0, width - visibleWidth(text)));
  return align === 'right' ? gap + text : text + gap;
}

/** Rows of cells under a header line (painted by `header`), two spaces between columns, no trailing blanks. */
export function table(columns: Column[], rows: string[][], header: (s: string) => string = (s) => s): string {
  const widths = columns.map((col, i) => Math.max(visibleWidth(col.header), ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const line = (cells: string[], paint?: (s: string) => string) =>
    cells
      .map((cell, i) => {
        const padded = pad(cell, widths[i] ?? 0, columns[i]?.align ?? 'left');
        return paint ? paint(padded) : padded;
      })
      .join('  ')
      .trimEnd();
  return [
    line(
      columns.map((c) => c.header),
      header,
    ),
    ...rows.map((r) => line(r)),
  ].join('\n');
}
