// The dashboard's script, inlined into the page. It polls the JSON routes and updates the cards in
// place. Every value from the server reaches the page through textContent or setAttribute, never
// through HTML, so a budget name or attribute value holding markup shows as text.
// (Plain ES2020 in a string: no backticks or template placeholders inside.)
export const SCRIPT = `
(function () {
  'use strict';
  var cfg = JSON.parse(document.getElementById('sg-config').textContent);
  // Always this origin: a path that starts with '//' must not turn the API calls (and the token) to another host.
  var path = location.pathname.replace(/^\\/+/, '/');
  var base = location.origin + path.replace(/[^/]*$/, '');
  if (!/\\/$/.test(path) && !/\\.[a-z]+$/i.test(path)) base = location.origin + path + '/';
  var token = new URLSearchParams(location.search).get('token');
  var headers = token ? { Authorization: 'Bearer ' + token } : {};
  var LEVELS = ['ok', 'info', 'warning', 'critical', 'exhausted'];
  var two = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  var fine = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 });
  var cards = new Map();
  var histories = new Map();
  var tick = 0;

  function amount(n) { return n !== 0 && Math.abs(n) < 0.01 ? fine.format(n) : two.format(n); }
  function pct(n) { return (n >= 10 || n === 0 ? Math.round(n) : n.toFixed(1)) + '%'; }
  function shortDay(iso) { var d = new Date(iso); return isNaN(d) ? String(iso) : d.toLocaleDateString(undefined, { month: 'short', day: 'numeric', timeZone: 'UTC' }); }
  function day(iso) { return iso ? iso.slice(0, 10) : ''; }
  function clock(iso) { var d = new Date(iso); return isNaN(d) ? String(iso) : d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit' }); }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = String(text);
    return e;
  }
  function svg(tag, attrs) {
    var e = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (var k in attrs) e.setAttribute(k, String(attrs[k]));
    return e;
  }
  function setLevel(node, level) {
    LEVELS.forEach(function (l) { node.classList.toggle('lvl-' + l, l === level); });
  }
  function get(path) {
    return fetch(base + path, { headers: headers, cache: 'no-store' }).then(function (r) {
      if (r.status === 401) throw new Error('unauthorised: open this page with ?token=<the server token>');
      if (r.status === 501) return null;
      if (!r.ok) return r.json().then(function (b) { throw new Error(b && b.error ? b.error : 'HTTP ' + r.status); }, function () { throw new Error('HTTP ' + r.status); });
      return r.json();
    });
  }

  function stat(label) {
    var d = el('div'); var dt = el('dt', null, label); var dd = el('dd');
    d.append(dt, dd);
    return { node: d, value: dd };
  }
  function makeCard(name) {
    var card = el('article', 'card');
    card.setAttribute('data-budget', name);
    var head = el('div', 'head');
    var h = el('h2', 'name', name); h.title = name;
    var soft = el('span', 'tag', 'soft'); soft.hidden = true;
    var pill = el('span', 'pill level');
    head.append(h, soft, pill);
    var figures = el('div', 'figures');
    var used = el('span', 'used'); var limit = el('span', 'limit'); var p = el('span', 'pct');
    figures.append(used, limit, p);
    var bar = el('div', 'bar'); bar.setAttribute('role', 'meter'); bar.setAttribute('aria-valuemin', '0');
    var fill = el('div', 'fill'); var held = el('div', 'held'); var softMark = el('div', 'soft'); softMark.hidden = true;
    bar.append(fill, held, softMark);
    var stats = el('dl', 'stats');
    var reserved = stat('Reserved'); var pacing = stat('Spent today'); var forecast = stat('Forecast');
    stats.append(reserved.node, pacing.node, forecast.node);
    var chart = svg('svg', { class: 'history', viewBox: '0 0 300 64', preserveAspectRatio: 'none', role: 'img' });
    var foot = el('div', 'foot'); var period = el('span', 'period'); var ends = el('span', 'ends');
    foot.append(period, ends);
    card.append(head, figures, bar, stats, chart, foot);
    return { card: card, soft: soft, pill: pill, used: used, limit: limit, pct: p, bar: bar, fill: fill, held: held, softMark: softMark,
      reserved: reserved.value, pacing: pacing.value, forecast: forecast.value, chart: chart, period: period, ends: ends, status: null };
  }
  function updateCard(c, s) {
    c.status = s;
    setLevel(c.card, s.level);
    c.pill.textContent = s.level;
    c.soft.hidden = s.enforce === 'hard'; c.soft.textContent = s.enforce;
    c.used.textContent = amount(s.used);
    var granted = (s.grants || []).reduce(function (sum, g) { return sum + Math.round(g.amount * 1e6); }, 0) / 1e6; // summed in micro-units
    var raisedBy = (granted > 0 ? ' +' + amount(granted) + ' granted' : '') + (s.carriedOver ? ' +' + amount(s.carriedOver) + ' carried' : '');
    c.limit.textContent = '/ ' + amount(s.limit) + (raisedBy ? ' (' + raisedBy.trim() + ')' : '');
    c.pct.textContent = pct(s.percentUsed);
    var frac = function (n) { return s.limit > 0 ? Math.max(0, Math.min(1, n / s.limit)) : (n > 0 ? 1 : 0); };
    var u = frac(s.used);
    c.fill.style.width = (u * 100).toFixed(3) + '%';
    c.held.style.width = (Math.min(1 - u, frac(s.reserved + (s.leased || 0))) * 100).toFixed(3) + '%';
    c.bar.setAttribute('aria-valuenow', String(s.used));
    c.bar.setAttribute('aria-valuemax', String(s.limit));
    c.bar.title = amount(s.used) + ' used, ' + amount(s.reserved + (s.leased || 0)) + ' held, ' + amount(s.remaining) + ' free';
    if (typeof s.softLimit === 'number' && s.limit > 0) {
      c.softMark.hidden = false; c.softMark.style.left = (frac(s.softLimit) * 100).toFixed(3) + '%'; c.softMark.title = 'soft limit ' + amount(s.softLimit);
    } else c.softMark.hidden = true;
    c.reserved.textContent = amount(s.reserved);
    if (s.leased > 0) c.reserved.append(el('small', null, amount(s.leased) + ' leased'));
    c.pacing.textContent = amount(s.pacing.todayUsed);
    c.pacing.classList.toggle('over', !!s.pacing.overPace);
    c.pacing.append(el('small', null, 'of ' + amount(s.pacing.dailyBudget) + ' a day'));
    if (s.pacing.overPace) c.pacing.append(el('small', null, 'over pace'));
    c.forecast.textContent = amount(s.forecast.endOfPeriod);
    c.forecast.classList.toggle('over', !!s.forecast.exhaustsOn);
    if (s.forecast.exhaustsOn) c.forecast.append(el('small', null, 'runs out ' + shortDay(s.forecast.exhaustsOn)));
    c.period.textContent = s.period.key === 'all' ? 'lifetime allowance' : 'period ' + s.period.key;
    c.ends.textContent = s.period.key === 'all' ? '' : 'ends ' + day(s.period.end);
    drawHistory(c);
  }
  function drawHistory(c) {
    var s = c.status; var h = histories.get(s.budget);
    while (c.chart.firstChild) c.chart.firstChild.remove();
    if (!h || h.length === 0) return;
    // The current period's bar follows the live status between history reads.
    var rows = h.map(function (e) { return { period: e.period, used: e.period === s.period.key ? s.used : e.used }; });
    var top = Math.max(s.limit, 1e-9, Math.max.apply(null, rows.map(function (r) { return r.used; })));
    var W = 300, H = 50, gap = 3, bw = Math.max(2, (W - gap * (rows.length - 1)) / rows.length);
    var title = svg('title', {}); title.textContent = 'last ' + rows.length + ' periods'; c.chart.append(title);
    rows.forEach(function (r, i) {
      var bh = Math.max(r.used > 0 ? 1.5 : 0, (r.used / top) * H);
      var rect = svg('rect', { x: (i * (bw + gap)).toFixed(2), y: (H - bh).toFixed(2), width: bw.toFixed(2), height: bh.toFixed(2), rx: 1.5,
        class: r.period === s.period.key ? 'hist-now' : 'hist-past' });
      var t = svg('title', {}); t.textContent = r.period + ': ' + amount(r.used); rect.append(t);
      c.chart.append(rect);
    });
    var ly = (H - (s.limit / top) * H).toFixed(2);
    c.chart.append(svg('line', { x1: 0, x2: W, y1: ly, y2: ly, class: 'hist-limit' }));
    var first = svg('text', { x: 0, y: 62 }); first.textContent = rows[0].period;
    var last = svg('text', { x: W, y: 62, 'text-anchor': 'end' }); last.textContent = rows[rows.length - 1].period;
    c.chart.append(first, last);
  }

  function renderSummary(list) {
    var box = document.getElementById('summary');
    var counts = {};
    list.forEach(function (s) { counts[s.level] = (counts[s.level] || 0) + 1; });
    box.replaceChildren(el('span', 'total', list.length + (list.length === 1 ? ' budget' : ' budgets')));
    LEVELS.forEach(function (l) {
      if (!counts[l]) return;
      var chip = el('span', 'chip lvl-' + l); chip.setAttribute('data-level', l);
      chip.append(el('i'), el('span', null, counts[l] + ' ' + l));
      box.append(chip);
    });
  }
  function renderStatus(list) {
    var grid = document.getElementById('budgets');
    var names = new Set();
    list.forEach(function (s) {
      names.add(s.budget);
      var c = cards.get(s.budget);
      if (!c) { c = makeCard(s.budget); cards.set(s.budget, c); }
      updateCard(c, s);
      grid.append(c.card);
    });
    cards.forEach(function (c, name) { if (!names.has(name)) { c.card.remove(); cards.delete(name); } });
    document.getElementById('no-budgets').hidden = list.length > 0;
    renderSummary(list);
  }

  function describe(e) {
    switch (e.type) {
      case 'transition': return e.from + ' \\u2192 ' + e.to + ' at ' + amount(e.used) + ' of ' + amount(e.limit) + ' (' + e.period + ')';
      case 'alert': return e.message || (e.level + ': ' + pct(e.percentUsed) + ' used');
      case 'reset': return 'new period ' + e.period + '; ' + e.previous.key + ' ended at ' + amount(e.previous.used);
      case 'overage': return 'reservation ' + e.reservationId + ' reserved ' + amount(e.reserved) + ', cost ' + amount(e.actual);
      default: return '';
    }
  }
  function eventLevel(e) {
    if (e.type === 'transition') return e.to;
    if (e.type === 'alert') return LEVELS.indexOf(e.level) >= 0 ? e.level : 'warning';
    if (e.type === 'overage') return 'critical';
    return 'info';
  }
  function renderEvents(page) {
    var body = document.getElementById('events');
    var note = document.getElementById('events-note');
    if (page === null) { body.replaceChildren(); note.textContent = 'this store\\u2019s guard has no event feed'; note.hidden = false; return; }
    note.hidden = page.events.length > 0;
    note.textContent = 'no events yet';
    var rows = page.events.slice().reverse().map(function (e) {
      var tr = el('tr'); tr.setAttribute('data-event', e.id);
      var type = el('span', 'type', e.type); setLevel(type, eventLevel(e));
      var tdType = el('td'); tdType.append(type);
      var b = el('td', 'budget', e.budget); b.title = e.budget;
      tr.append(el('td', 'time', clock(e.at)), tdType, b, el('td', 'detail', describe(e)));
      return tr;
    });
    body.replaceChildren.apply(body, rows);
  }

  function setLive(ok, text) {
    var live = document.getElementById('live');
    live.classList.toggle('down', !ok);
    document.getElementById('live-text').textContent = text;
    var notice = document.getElementById('notice');
    notice.hidden = ok; if (!ok) notice.textContent = text;
  }
  function refresh() {
    var wantHistory = tick % cfg.historyEvery === 0;
    tick++;
    return get('api/status').then(function (list) {
      renderStatus(list);
      var jobs = [get('api/events?recent=' + cfg.recentEvents).then(renderEvents, function () {})];
      if (wantHistory) list.forEach(function (s) {
        jobs.push(get('api/history?budget=' + encodeURIComponent(s.budget) + '&periods=' + cfg.historyPeriods).then(function (h) {
          histories.set(s.budget, h); var c = cards.get(s.budget); if (c && c.status) drawHistory(c);
        }, function () {}));
      });
      return Promise.all(jobs).then(function () {
        document.body.setAttribute('data-refreshed', String(tick));
        setLive(true, 'live \\u00b7 updated ' + new Date().toLocaleTimeString());
      });
    }).catch(function (err) { setLive(false, String(err && err.message ? err.message : err)); });
  }
  function loop() { refresh().then(function () { setTimeout(loop, cfg.refreshMs); }); }
  loop();
})();
`;
