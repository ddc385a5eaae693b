// The dashboard's stylesheet, inlined into the page (no CDN, no network): level colours as variables,
// a grid of budget cards, the event feed. Light and dark follow the viewer's system setting.
export const STYLE = `
:root {
  --bg: #f4f5f7; --card: #ffffff; --ink: #1d2330; --muted: #6b7385; --line: #e3e6ec; --track: #eceef2;
  --ok: #1f9d55; --info: #2b7de9; --warning: #d99a00; --critical: #e8590c; --exhausted: #c2185b;
  --past: #a9b4c6; --shadow: 0 1px 2px rgba(16, 24, 40, .06), 0 1px 3px rgba(16, 24, 40, .08);
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0f1218; --card: #171b23; --ink: #e7eaf0; --muted: #8d96a8; --line: #262c38; --track: #232936; --past: #4a5568;
    --shadow: none; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
.num, .figures, .stats dd, .events td.time { font-variant-numeric: tabular-nums; }
header.top { display: flex; align-items: center; gap: 16px; padding: 18px 28px; background: var(--card); border-bottom: 1px solid var(--line); }
header.top h1 { font-size: 18px; margin: 0; letter-spacing: .2px; }
header.top h1 span { color: var(--muted); font-weight: 500; }
.live { margin-left: auto; display: flex; align-items: center; gap: 8px; color: var(--muted); font-size: 13px; }
.live .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--ok); box-shadow: 0 0 0 3px color-mix(in srgb, var(--ok) 25%, transparent); }
.live.down .dot { background: var(--exhausted); box-shadow: 0 0 0 3px color-mix(in srgb, var(--exhausted) 25%, transparent); }
.live.down { color: var(--exhausted); }
main { padding: 22px 28px 40px; max-width: 1500px; margin: 0 auto; }
.summary { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 18px; align-items: center; }
.summary .total { font-weight: 600; margin-right: 6px; }
.chip { display: inline-flex; align-items: center; gap: 6px; padding: 3px 10px; border-radius: 999px; background: var(--card);
  border: 1px solid var(--line); font-size: 12.5px; }
.chip i { width: 8px; height: 8px; border-radius: 50%; background: var(--lvl); }
.lvl-ok { --lvl: var(--ok); } .lvl-info { --lvl: var(--info); } .lvl-warning { --lvl: var(--warning); }
.lvl-critical { --lvl: var(--critical); } .lvl-exhausted { --lvl: var(--exhausted); }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr)); gap: 16px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; padding: 16px 18px 12px; box-shadow: var(--shadow);
  border-top: 3px solid var(--lvl); display: flex; flex-direction: column; gap: 10px; min-width: 0; }
.card .head { display: flex; align-items: center; gap: 8px; min-width: 0; }
.card h2 { font-size: 15px; margin: 0; font-weight: 600; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; min-width: 0; }
.tag { font-size: 11px; color: var(--muted); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; }
.pill { margin-left: auto; font-size: 11.5px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; color: #fff;
  background: var(--lvl); border-radius: 999px; padding: 2px 9px; flex: none; }
.figures { display: flex; align-items: baseline; gap: 6px; }
.figures .used { font-size: 24px; font-weight: 650; }
.figures .limit { color: var(--muted); }
.figures .pct { margin-left: auto; font-weight: 600; color: var(--lvl); font-size: 15px; }
.bar { position: relative; height: 12px; border-radius: 6px; background: var(--track); overflow: hidden; display: flex; }
.bar .fill { height: 100%; background: var(--lvl); transition: width .4s ease; }
.bar .held { height: 100%; background: repeating-linear-gradient(45deg, color-mix(in srgb, var(--lvl) 45%, transparent) 0 4px,
  color-mix(in srgb, var(--lvl) 20%, transparent) 4px 8px); transition: width .4s ease; }
.bar .soft { position: absolute; top: 0; bottom: 0; width: 2px; background: var(--ink); opacity: .35; }
.stats { display: grid; grid-template-columns: repeat(3, 1fr); gap: 8px; margin: 2px 0 0; }
.stats div { min-width: 0; }
.stats dt { font-size: 11px; color: var(--muted); text-transform: uppercase; letter-spacing: .4px; }
.stats dd { margin: 1px 0 0; font-weight: 550; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.stats dd small { display: block; font-weight: 400; color: var(--muted); font-size: 11.5px; overflow: hidden; text-overflow: ellipsis; }
.stats dd.over small:last-child { color: var(--critical); }
.over { color: var(--critical); }
.history { width: 100%; height: 64px; display: block; }
.history .hist-past { fill: var(--past); } .history .hist-now { fill: var(--lvl); } .history .hist-limit { stroke: var(--muted); stroke-dasharray: 3 3; stroke-width: 1; }
.history text { fill: var(--muted); font-size: 9.5px; }
.card .foot { display: flex; justify-content: space-between; color: var(--muted); font-size: 11.5px; border-top: 1px solid var(--line); padding-top: 8px; }
section.feed { margin-top: 28px; background: var(--card); border: 1px solid var(--line); border-radius: 12px; box-shadow: var(--shadow); overflow: hidden; }
section.feed h2 { font-size: 15px; margin: 0; padding: 14px 18px; border-bottom: 1px solid var(--line); display: flex; gap: 10px; align-items: baseline; }
section.feed h2 small { color: var(--muted); font-weight: 400; font-size: 12.5px; }
table.events { width: 100%; border-collapse: collapse; }
table.events td { padding: 8px 18px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.events tr:last-child td { border-bottom: 0; }
table.events td.time { color: var(--muted); white-space: nowrap; width: 1%; }
table.events td.budget { font-weight: 600; white-space: nowrap; max-width: 280px; overflow: hidden; text-overflow: ellipsis; }
.type { display: inline-block; font-size: 11px; font-weight: 600; text-transform: uppercase; letter-spacing: .4px; padding: 1px 7px;
  border-radius: 4px; color: var(--lvl); background: color-mix(in srgb, var(--lvl) 14%, transparent); }
.empty { padding: 22px 18px; color: var(--muted); }
.notice { margin: 0 0 16px; padding: 10px 14px; border-radius: 8px; background: color-mix(in srgb, var(--exhausted) 10%, var(--card));
  border: 1px solid color-mix(in srgb, var(--exhausted) 35%, transparent); }
.notice[hidden] { display: none; }
`;
