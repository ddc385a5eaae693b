// The dashboard as one self-contained HTML document: inline style and script (allowed by a per-response
// nonce), no data of its own. Everything it shows is fetched from the JSON routes by the script.
import { SCRIPT } from './script.js';
import { STYLE } from './style.js';

export interface PageOptions {
  nonce: string;
  title: string;
  refreshMs: number;
  historyPeriods: number;
  recentEvents: number;
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => HTML_ESCAPES[ch] ?? ch);
}

/** JSON that cannot end the <script> element it sits in. */
function inertJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export function dashboardPage(o: PageOptions): string {
  const config = {
    refreshMs: o.refreshMs,
    historyPeriods: o.historyPeriods,
    recentEvents: o.recentEvents,
    // History changes once per period; the current bar follows the live status in between.
    historyEvery: Math.max(1, Math.round(30_000 / o.refreshMs)),
  };
  const title = escapeHtml(o.title);
  const nonce = escapeHtml(o.nonce);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body>
<header class="top">
  <h1>spendguard <span>· ${title}</span></h1>
  <div class="live" id="live"><span class="dot"></span><span id="live-text">connecting…</span></div>
</header>
<main>
  <p class="notice" id="notice" hidden></p>
  <div class="summary" id="summary"></div>
  <div class="grid" id="budgets"></div>
  <p class="empty" id="no-budgets" hidden>No budgets: the guard's config lists none.</p>
  <section class="feed">
    <h2>Recent events <small>transitions, alerts, period resets and overages from the store's durable feed</small></h2>
    <table class="events"><tbody id="events"></tbody></table>
    <p class="empty" id="events-note">loading…</p>
  </section>
</main>
<script type="application/json" id="sg-config">${inertJson(config)}</script>
<script nonce="${nonce}">${SCRIPT}</script>
</body>
</html>
`;
}

/** What GET / answers without the token: a form that asks for it. */
export function tokenPage(nonce: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>spendguard: token needed</title>
<style nonce="${escapeHtml(nonce)}">body{font:15px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;background:#f4f5f7;color:#1d2330}
form{background:#fff;padding:24px 28px;border-radius:12px;border:1px solid #e3e6ec;display:grid;gap:10px;min-width:320px}
input,button{font:inherit;padding:8px 10px;border-radius:6px;border:1px solid #c9ced8}button{background:#1d2330;color:#fff;cursor:pointer}</style>
</head><body><form method="get"><strong>This dashboard needs its token.</strong>
<label>Token <input type="password" name="token" autocomplete="off" required></label><button>Open</button></form></body></html>
`;
}
