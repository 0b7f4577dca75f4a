/* Command-centre dashboard: live feed, counts, deadlines, alerts, KPIs, and the case detail with actions. */
"use strict";

(() => {
  const { el, clear, $, api, meta, toast, time, pct } = C;
  let M = null;
  let span = "today";
  // overdue / near due: one definition (services/core/figures.py) for the tiles (stats `live`) and the lists
  const DUE_CLS = { overdue: "late", near_due: "warn", ok: "ok", none: "ok" };
  const MODE_CLS = { 服务: "c-svc", 管理: "c-mgmt", 执法: "c-enf" };
  const RATING_CLS = { 满意: "c-sat", 基本满意: "c-basic", 不满意: "c-unsat" };

  const ticketLink = (t) => el("a", { href: "#" + t, class: "tno", onclick: (e) => { e.preventDefault(); Detail.open(t); } }, t);

  function statsUrl(group) {
    // whole city days, today included (`to` as a date includes that day): read from the KPI rollup
    const from = span === "today" ? C.day(0) : C.day(6);
    return `/api/v1/stats?from=${from}&to=${C.day(0)}&group_by=${group}`;
  }

  async function loadStats() {
    // the three groupings asked at once; the tiles, donuts and unit table drawn as soon as the unit one is in
    const [town, cat, unit] = ["territory", "category", "unit"].map((g) => api("GET", statsUrl(g)));
    town.catch(() => {}); cat.catch(() => {});  // their errors surface below, once awaited
    const byUnit = await unit;
    const t = byUnit.total;
    const tiles = clear($("tiles"));
    const tile = (label, value, cls, id) => tiles.append(el("div", { class: "tile " + (cls || ""), id },
      el("div", { class: "tile-v" }, String(value)), el("div", { class: "tile-l" }, label)));
    tile(span === "today" ? "今日受理" : "近7日受理", t.received, "", "tile-received");
    tile("已派遣", t.dispatched, "", "tile-dispatched");
    tile("已处置", t.resolved, "", "tile-resolved");
    const live = byUnit.live || {};
    tile("已超时（当前）", live.overdue, live.overdue ? "bad" : "", "tile-overdue");
    tile("即将超时（当前）", live.near_due, live.near_due ? "warn" : "", "tile-neardue");
    tile("响应率", pct(t.response_rate));
    tile("按期办结率", pct(t.on_time_resolution_rate));
    tile("返工率", pct(t.rework_rate));
    tile("满意率", pct(t.satisfaction_rate));
    Charts.donut($("chart-disposal"), M.disposal_modes.map((m) => ({ name: m, value: t.disposal[m].count,
      cls: MODE_CLS[m] })), { big: pct(t.disposal["服务"].share), small: "服务类占比" });
    Charts.donut($("chart-satisfaction"), Object.entries(t.ratings).map(([k, v]) => ({ name: k, value: v,
      cls: RATING_CLS[k] })), { big: pct(t.satisfaction_rate), small: "满意率" });
    unitsTable(byUnit);
    const [byTown, byCat] = await Promise.all([town, cat]);
    Charts.bars($("chart-town"), (byTown.groups || []).map((g) => ({ label: M.town[g.territory] || "未定位",
      value: g.received, title: `${M.town[g.territory] || "未定位"}：受理 ${g.received}，已处置 ${g.resolved}` })),
    { label: "各镇受理量" });
    Charts.bars($("chart-category"), (byCat.groups || []).map((g) => ({ label: (M.cat[g.category] || {}).name || "未分类",
      value: g.received })), { label: "各类别受理量", cls: "bar alt" });
  }

  function unitsTable(byUnit) {
    const liveBy = (byUnit.live || {}).groups || {};
    const rows = (byUnit.groups || []).filter((g) => g.unit !== "(none)");
    const none = { received: 0, response_rate: null, on_time_resolution_rate: null, satisfaction_rate: null,
      disposal: Object.fromEntries(M.disposal_modes.map((m) => [m, { count: 0 }])) };
    for (const u of Object.keys(liveBy)) if (u !== "(none)" && liveBy[u].overdue && !rows.some((g) => g.unit === u)) rows.push({ ...none, unit: u });
    const table = el("table", { class: "units" },
      el("thead", {}, el("tr", {}, ["单位", "受理", "响应率", "按期办结率", "已超时（当前）", "满意率", "服务/管理/执法"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((g) => {
        const split = el("div", { class: "split" });
        const total = M.disposal_modes.reduce((s, m) => s + g.disposal[m].count, 0);
        for (const m of M.disposal_modes) {
          if (!g.disposal[m].count) continue;
          const part = el("span", { class: MODE_CLS[m], title: `${m} ${g.disposal[m].count}` });
          part.style.width = (100 * g.disposal[m].count / total) + "%";
          split.append(part);
        }
        if (!total) split.append(el("span", { class: "muted small" }, "—"));
        return el("tr", {}, el("td", {}, C.label("unit", g.unit)), el("td", { class: "num" }, String(g.received)),
          el("td", { class: "num" }, pct(g.response_rate)),
          el("td", { class: "num " + rateCls(g.on_time_resolution_rate) }, pct(g.on_time_resolution_rate)),
          ((n) => el("td", { class: "num" + (n ? " bad" : "") }, String(n)))((liveBy[g.unit] || {}).overdue || 0),
          el("td", { class: "num" }, pct(g.satisfaction_rate)), el("td", {}, split));
      })));
    clear($("units")).append(rows.length ? table : el("p", { class: "muted" }, "暂无数据"),
      el("ul", { class: "legend" }, M.disposal_modes.map((m) => el("li", {}, el("i", { class: "sw " + MODE_CLS[m] }), m))));
  }

  // Correction rate per routing day x the router's category (GET /api/v1/corrections/stats): "corrected/routed" per day.
  async function loadCorrections() {
    const data = await api("GET", `/api/v1/corrections/stats?days=${span === "today" ? 1 : 7}`);
    $("corrections-model").textContent = `当前模型 ${data.model_version}`;
    const days = [...new Set(data.days.map((d) => d.date))].sort();
    const cell = new Map(data.days.map((d) => [d.date + "|" + d.category, d]));
    const rows = data.categories.filter((c) => c.routed > 0).sort((x, y) => (y.rate || 0) - (x.rate || 0) || y.routed - x.routed);
    const table = el("table", { class: "units corrections" },
      el("thead", {}, el("tr", {}, ["类别（派遣时）", ...days.map((d) => d.slice(5)), "派遣", "纠正", "改类别", "纠正率"]
        .map((h) => el("th", {}, h)))),
      el("tbody", {}, rows.map((c) => el("tr", {},
        el("td", {}, C.label("category", c.category)),
        ...days.map((d) => {
          const x = cell.get(d + "|" + c.category);
          return el("td", { class: "num" + (x && x.corrected ? " bad" : ""), title: x ? `派遣 ${x.routed}，纠正 ${x.corrected}` : "" },
            x ? `${x.corrected}/${x.routed}` : "—");
        }),
        el("td", { class: "num" }, String(c.routed)), el("td", { class: "num" }, String(c.corrected)),
        el("td", { class: "num" }, String(c.reclassified)),
        el("td", { class: "num " + (c.rate >= 0.2 ? "bad" : c.rate !== null && c.rate < 0.05 ? "good" : "") }, pct(c.rate))))));
    clear($("corrections")).append(rows.length ? table : el("p", { class: "muted" }, "暂无派遣"),
      el("p", { class: "muted small" }, `合计：派遣 ${data.total.routed}，人工纠正 ${data.total.corrected}（改类别 ${data.total.reclassified}），纠正率 ${pct(data.total.rate)}`));
  }

  function rateCls(r) { return r === null || r === undefined ? "" : r >= 0.9 ? "good" : r < 0.7 ? "bad" : ""; }

  function caseItem(c, extra) {
    const due = c.due || {};
    const cd = C.countdown(due.deadline, c.received_at);
    if (DUE_CLS[due.state]) cd.cls = DUE_CLS[due.state];  // the server's state, as of the list's answer
    return el("li", {}, ticketLink(c.ticket_no), c.urgent ? C.badge("紧急", "urgent") : null,
      el("span", { class: "small" }, ` ${C.label("category", c.category)} · ${C.label("unit", c.unit)}`),
      el("span", { class: "countdown " + cd.cls }, extra || cd.text));
  }

  function fillList(id, items, emptyText) {
    const list = clear($(id));
    if (!items.length) list.append(el("li", { class: "muted" }, emptyText));
    items.forEach((i) => list.append(i));
  }

  async function loadLists() {
    const [over, near, todo, ext, alerts] = await Promise.all([
      api("GET", "/api/v1/cases?overdue=true&limit=50"),
      api("GET", "/api/v1/cases?near_due=true&limit=50"),
      api("GET", "/api/v1/cases?status=awaiting_decision,resolved&limit=50"),
      api("GET", "/api/v1/cases?extension=requested&limit=50"),
      api("GET", "/api/v1/alerts?kind=hotspot,supervision&limit=15"),
    ]);
    const counted = (list) => {
      const n = list.total_capped ? `${list.total}+` : list.total;
      return list.total ? (list.total > list.count ? `（${n}，显示前 ${list.count} 件）` : `（${n}）`) : "";
    };
    fillList("overdue", over.cases.map((c) => caseItem(c)), "没有超时工单");
    $("overdue-count").textContent = counted(over);
    fillList("neardue", near.cases.map((c) => caseItem(c)), "没有即将超时的工单");
    $("neardue-count").textContent = counted(near);
    const pending = ext.cases.map((c) => caseItem(c, `延期待审批${c.extension_hours ? "（+" + c.extension_hours + " 小时）" : ""}`));
    pending.forEach((li) => li.classList.add("ext-pending"));
    pending.push(...todo.cases.map((c) => caseItem(c, c.status === "resolved" ? "待核查" : "待裁定")));
    fillList("todo", pending, "暂无");
    fillList("alerts", alerts.alerts.map((a) => el("li", { class: "alert " + a.kind }, C.badge(C.label("alert", a.kind), a.kind),
      " ", a.ticket_no ? ticketLink(a.ticket_no) : null, el("span", {}, " " + C.label("text", a.message)),
      el("span", { class: "muted small" }, " ", C.when(a.raised_at)))), "暂无热点告警");
  }

  function onChange(change) {
    const list = $("feed");
    const first = list.firstChild;
    if (first && first.classList && first.classList.contains("muted")) clear(list);
    const what = change.type === "alert" ? C.label("alert", change.kind) : C.label("event", change.type);
    const where = [M.unit[change.unit], (M.cat[change.category] || {}).name, M.town[change.territory]].filter(Boolean).join(" · ");
    list.prepend(el("li", { class: "ev ev-" + change.type + (change.urgent ? " urgent" : "") },
      el("span", { class: "t" }, C.clock(change.at)), C.badge(what, "ev-" + (change.kind || change.type)), " ",
      change.ticket_no ? ticketLink(change.ticket_no) : null,
      el("span", { class: "small" }, " " + (change.type === "alert" ? C.label("text", change.message || "") : where))));
    while (list.childNodes.length > 60) list.removeChild(list.lastChild);
    refreshSoon();
  }

  async function refresh() {
    try { await Promise.all([loadStats(), loadLists(), loadCorrections()]); } catch (e) { toast(e.message, "error"); }
  }
  const refreshSoon = C.debounce(refresh, 800);

  async function init() {
    M = await meta();
    window.Dash = { M, refresh };
    for (const b of document.querySelectorAll("#span button")) {
      b.addEventListener("click", () => {
        span = b.dataset.span;
        for (const o of document.querySelectorAll("#span button")) o.classList.toggle("on", o === b);
        // only the span's figures change (the lists are live, whatever the span): fetch just those
        // the tiles first, then the correction rates (they would compete with them for the API)
        loadStats().then(loadCorrections).catch((e) => toast(e.message, "error"));
      });
    }
    $("find").addEventListener("submit", (e) => { e.preventDefault(); const t = $("find-ticket").value.trim().toUpperCase(); if (t) Detail.open(t); });
    // back-fill the feed with the recent events (oldest first), then the live stream (issue 17)
    await api("GET", "/api/v1/wall/recent?limit=30").then((r) => r.events.reverse().forEach(onChange)).catch(() => {});
    C.live(onChange);
    await refresh();
    setInterval(refresh, 60000);
    if (location.hash.length > 3) Detail.open(location.hash.slice(1));
  }

  init().catch((e) => toast(e.message, "error"));
})();
