/* The command centre's wall screen: KPIs, the town map with live counts, today-vs-last-week trend,
 * the live feed (back-filled from /api/v1/wall/recent on load, then the live stream). */
"use strict";

(() => {
  const { el, clear, $, api, meta, toast, pct } = C;
  const FEED_MAX = 40;
  const WALL_VARS = { "--ink": "--w-ink", "--muted": "--w-muted", "--line": "--w-line" };
  let M = null;
  let mapMode = null;
  const seen = new Set();  // type|ticket of the feed items shown (the back-fill and the stream overlap)

  function tick() {
    const now = new Date();
    $("wall-clock").textContent = C.clock(now.toISOString());
    $("wall-date").textContent = new Intl.DateTimeFormat("zh-CN", { timeZone: M.city.timezone, year: "numeric",
      month: "long", day: "numeric", weekday: "long" }).format(now);
  }

  function kpi(label, value, cls, id) {
    return el("div", { class: "wall-kpi " + (cls || ""), id }, el("div", { class: "v" }, String(value)), el("div", { class: "l" }, label));
  }

  // the dashboard's figures (GET /api/v1/stats): today's KPIs, and `live` (open / overdue / near due now)
  async function loadKpis() {
    const s = await api("GET", `/api/v1/stats?from=${C.day(0)}`);
    const t = s.total, now = s.live || {};
    clear($("wall-kpis")).append(
      kpi("今日受理", t.received, "", "kpi-received"),
      kpi("已派遣", t.dispatched, "", "kpi-dispatched"),
      kpi("已处置", t.resolved, "", "kpi-resolved"),
      kpi("在办", now.open, "", "kpi-open"),
      kpi("已超时（当前）", now.overdue, now.overdue ? "bad" : "", "kpi-overdue"),
      kpi("即将超时（当前）", now.near_due, now.near_due ? "warn" : "", "kpi-neardue"),
      kpi("按期办结率", pct(t.on_time_resolution_rate), "", "kpi-ontime"),
      kpi("满意率", pct(t.satisfaction_rate), "", "kpi-satisfaction"));
  }

  function heat(n, max) {
    if (!n) return "";
    const r = n / max;
    return r >= 0.85 && max >= 5 ? "h4" : r >= 0.5 ? "h3" : r >= 0.2 ? "h2" : "h1";
  }

  function tiles(data) {
    const box = $("wall-map");
    Charts.dispose(box);
    clear(box);
    box.style.gridTemplateColumns = `repeat(${data.cols}, minmax(0, 1fr))`;
    box.style.gridTemplateRows = `repeat(${data.rows}, minmax(0, 1fr))`;
    const max = Math.max(1, ...data.towns.map((t) => t.today));
    const used = new Set(data.towns.map((t) => t.col + "," + t.row));
    const sub = (t) => el("span", { class: "sub" }, el("span", { class: "o" }, `在办 ${t.open}`),
      t.overdue ? el("span", { class: "x" }, `超时 ${t.overdue}`) : null);
    for (const t of data.towns) {
      const tile = el("div", { class: "town " + heat(t.today, max) + (t.overdue ? " late" : ""), dataset: { code: t.code },
        title: `${t.name}：今日受理 ${t.today}，在办 ${t.open}，已超时 ${t.overdue}` },
        el("span", { class: "nm" }, t.short), el("span", { class: "n" }, String(t.today)), sub(t));
      tile.style.gridColumn = String(t.col + 1);
      tile.style.gridRow = String(t.row + 1);
      box.append(tile);
    }
    // the rest of the city (territories not on the map, unlocated cases) in the last free cell
    let cell = null;
    for (let i = data.cols * data.rows - 1; i >= 0 && !cell; i--) {
      const c = i % data.cols, r = Math.floor(i / data.cols);
      if (!used.has(c + "," + r)) cell = [c, r];
    }
    if (cell) {
      const other = el("div", { class: "town other", dataset: { code: "other" }, title: "未定位及图外区域" },
        el("span", { class: "nm" }, data.other.name), el("span", { class: "n" }, String(data.other.today)), sub(data.other));
      other.style.gridColumn = String(cell[0] + 1);
      other.style.gridRow = String(cell[1] + 1);
      box.append(other);
    }
  }

  let geojson = null;
  async function geoMap(data) {
    if (!geojson) geojson = await api("GET", "/api/v1/wall/geojson");
    const box = $("wall-map");
    Charts.geo(box, "city-" + M.city.code, geojson, data.feature_key, data.towns.map((t) => ({
      key: t.code, label: t.short, value: t.today, title: `${t.name}：今日受理 ${t.today}，在办 ${t.open}，已超时 ${t.overdue}` })),
    { height: null, fontSize: 20, vars: WALL_VARS, label: "各镇今日受理地图" });
  }

  async function loadMap() {
    const data = await api("GET", "/api/v1/wall/map");
    mapMode = data.mode;
    if (data.mode === "geojson") await geoMap(data); else tiles(data);
  }

  async function loadTrend() {
    const d = await api("GET", "/api/v1/wall/trend");
    const box = $("wall-trend");
    Charts.lines(box, d.hours.map((h) => `${h}时`), [
      { name: `今日（${d.date.slice(5)}）`, data: d.today, cls: "c-today", area: true },
      { name: `上周同日（${d.last_week_date.slice(5)}）`, data: d.last_week, cls: "c-lastweek", dashed: true },
    ], { height: null, fontSize: 18, interval: 2, vars: WALL_VARS, label: "今日与上周同日逐小时受理量" });
    const diff = d.today_total - d.last_week_same_time;
    $("wall-trend-sum").textContent = `今日 ${d.today_total} 件 · 上周同期 ${d.last_week_same_time} 件（${diff >= 0 ? "+" : ""}${diff}）`;
  }

  // an event of today by its clock time, an older one (back-filled) with its date too
  let dayFmt = null, dateFmt = null;
  function when(iso) {
    if (!dayFmt) {
      dayFmt = new Intl.DateTimeFormat("en-CA", { timeZone: M.city.timezone, year: "numeric", month: "2-digit", day: "2-digit" });
      dateFmt = new Intl.DateTimeFormat("zh-CN", { timeZone: M.city.timezone, month: "numeric", day: "numeric" });
    }
    const at = iso ? new Date(iso) : new Date();
    const clock = C.clock(at.toISOString()).slice(0, 5);
    return dayFmt.format(at) === dayFmt.format(new Date()) ? C.clock(at.toISOString()) : `${dateFmt.format(at)} ${clock}`;
  }

  function feedItem(change) {
    const what = change.type === "alert" ? (M.alerts[change.kind] || "告警") : (M.events[change.type] || "动态");
    const where = change.type === "alert" ? C.label("text", change.message || "")  // its UTC time and codes in words
      : [M.town[change.territory], (M.cat[change.category] || {}).name, M.unit[change.unit]].filter(Boolean).join(" · ");
    return el("li", { class: "ev-" + change.type + (change.urgent ? " urgent" : "") },
      el("span", { class: "t" }, when(change.at)), el("span", { class: "what" }, what),
      change.ticket_no ? el("span", { class: "tno" }, change.ticket_no) : null,
      change.urgent ? el("span", { class: "urg" }, "紧急") : null,
      el("span", { class: "where" }, where));
  }

  function key(change) { return [change.type, change.kind || "", change.ticket_no || "", change.alert_id || ""].join("|"); }

  function show(change) {
    const list = $("wall-feed");
    const first = list.firstChild;
    if (first && first.classList && first.classList.contains("muted")) clear(list);
    list.prepend(feedItem(change));
    while (list.childNodes.length > FEED_MAX) list.removeChild(list.lastChild);
  }

  function flash(territory) {
    const tile = document.querySelector(`#wall-map .town[data-code="${CSS.escape(territory || "other")}"]`);
    if (!tile) return;
    tile.classList.add("flash");
    setTimeout(() => tile.classList.remove("flash"), 3000);
  }

  async function backfill() {
    const { events } = await api("GET", "/api/v1/wall/recent?limit=" + FEED_MAX);
    const list = clear($("wall-feed"));
    if (!events.length) list.append(el("li", { class: "muted" }, "暂无动态"));
    for (const e of events.slice().reverse()) { seen.add(key(e)); show(e); }
  }

  async function refresh() {
    try {
      await Promise.all([loadMap(), loadKpis(), loadTrend()]);
    } catch (e) { toast(e.message, "error"); }
  }
  const refreshSoon = C.debounce(refresh, 1500);

  async function init() {
    M = await meta();
    $("wall-city").textContent = M.city.name + " ";
    tick();
    setInterval(tick, 1000);
    // the stream first (buffered), then the back-fill: nothing that happens in between is lost
    let buffer = [];
    C.live((change) => {
      if (buffer) { buffer.push(change); return; }
      show(change);
      flash(change.territory);
      refreshSoon();
    });
    await Promise.all([backfill().catch((e) => toast(e.message, "error")), refresh()]);
    const pending = buffer;
    buffer = null;
    for (const change of pending) if (!seen.has(key(change))) show(change);
    seen.clear();
    if (pending.length) refreshSoon();
    setInterval(refresh, 60000);
    window.Wall = { refresh, mode: () => mapMode };
  }

  init().catch((e) => toast(e.message, "error"));
})();
