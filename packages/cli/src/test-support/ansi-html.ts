// Terminal output with SGR colour codes as an HTML <pre>, so a screenshot of the CLI can be taken
// with the same headless browser as the dashboard's (only the codes picocolors emits are mapped).
import { escapeHtml } from '../dashboard/page.js';

const FG: Record<number, string> = {
  30: '#3b4252',
  31: '#e06c75',
  32: '#98c379',
  33: '#e5c07b',
  34: '#61afef',
  35: '#c678dd',
  36: '#56b6c2',
  37: '#dcdfe4',
  90: '#7f848e',
  91: '#ff7b72',
  92: '#a5d6a7',
  93: '#ffe08a',
  94: '#82aaff',
  95: '#e599f7',
  96: '#7fdbca',
  97: '#ffffff',
};

export function ansiToHtml(text: string, title: string): string {
  let fg: string | undefined;
  let bold = false;
  let dim = false;
  let out = '';
  for (const part of text.split(/(\x1b\[[0-9;]*m)/)) {
    const m = /^\x1b\[([0-9;]*)m$/.exec(part);
    if (!m) {
      if (part === '') continue;
      const style = [fg ? `color:${fg}` : '', bold ? 'font-weight:700' : '', dim ? 'opacity:.55' : ''].filter(Boolean).join(';');
      out += style ? `<span style="${style}">${escapeHtml(part)}</span>` : escapeHtml(part);
      continue;
    }
    for (const code of (m[1] || '0').split(';').map(Number)) {
      if (code === 0) [fg, bold, dim] = [undefined, false, false];
      else if (code === 1) bold = true;
      else if (code === 2) dim = true;
      else if (code === 22) [bold, dim] = [false, false];
      else if (code === 39) fg = undefined;
      else if (FG[code]) fg = FG[code];
    }
  }
  return `<!doctype html><meta charset="utf-8"><style>
body{margin:0;background:#1e222a;padding:0}
.win{margin:0;background:#282c34;color:#dcdfe4;border-radius:10px;overflow:hidden;display:inline-block;min-width:100%}
.bar{background:#21252b;padding:9px 14px;color:#9aa1ad;font:12px system-ui,sans-serif}
.bar i{display:inline-block;width:11px;height:11px;border-radius:50%;margin-right:6px;vertical-align:-1px}
pre{margin:0;padding:14px 18px 18px;font:13px/1.45 "DejaVu Sans Mono",monospace}
</style><div class="win"><div class="bar"><i style="background:#ff5f56"></i><i style="background:#ffbd2e"></i><i style="background:#27c93f"></i> ${escapeHtml(title)}</div><pre>${out}</pre></div>`;
}
