/* Small SVG charts drawn here (no library): horizontal bars, 100% stacked bars, donut. */
"use strict";

const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";

  function svg(tag, attrs, text) {
    const e = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function empty(container, message) {
    C.clear(container).append(C.el("p", { class: "muted" }, message || "暂无数据"));
  }

  /** items: [{label, value, title?, onclick?}] -> horizontal bars, largest first. */
  function bars(container, items, opts) {
    const o = Object.assign({ width: 420, row: 24, labelWidth: 120, cls: "bar", max: null, limit: 14 }, opts || {});
    const rows = items.filter((i) => i.value > 0).sort((a, b) => b.value - a.value).slice(0, o.limit);
    if (!rows.length) return empty(container);
    const max = o.max || Math.max(...rows.map((r) => r.value));
    const h = rows.length * o.row + 4;
    const root = svg("svg", { viewBox: `0 0 ${o.width} ${h}`, class: "chart-svg", role: "img",
      "aria-label": o.label || "柱状图" });
    const span = o.width - o.labelWidth - 44;
    rows.forEach((r, i) => {
      const y = i * o.row + 2;
      const g = svg("g", { class: "bar-row" });
      g.append(svg("title", {}, r.title || `${r.label}：${r.value}`));
      g.append(svg("text", { x: o.labelWidth - 8, y: y + o.row * 0.62, class: "lbl", "text-anchor": "end" },
        r.label.length > 9 ? r.label.slice(0, 8) + "…" : r.label));
      g.append(svg("rect", { x: o.labelWidth, y: y + 3, width: Math.max(2, (r.value / max) * span),
        height: o.row - 8, rx: 3, class: r.cls || o.cls }));
      g.append(svg("text", { x: o.labelWidth + Math.max(2, (r.value / max) * span) + 6, y: y + o.row * 0.62,
        class: "val" }, o.fmt ? o.fmt(r.value) : String(r.value)));
      root.append(g);
    });
    C.clear(container).append(root);
  }

  /** rows: [{label, parts: [{name, value, cls}]}] -> 100% stacked horizontal bars with a legend. */
  function stacked(container, rows, names, opts) {
    const o = Object.assign({ width: 420, row: 22, labelWidth: 120 }, opts || {});
    const shown = rows.filter((r) => r.parts.some((p) => p.value > 0));
    if (!shown.length) return empty(container, "暂无已处置工单");
    const h = shown.length * o.row + 4;
    const root = svg("svg", { viewBox: `0 0 ${o.width} ${h}`, class: "chart-svg", role: "img",
      "aria-label": o.label || "构成图" });
    const span = o.width - o.labelWidth - 8;
    shown.forEach((r, i) => {
      const y = i * o.row + 2;
      const total = r.parts.reduce((s, p) => s + p.value, 0);
      root.append(svg("text", { x: o.labelWidth - 8, y: y + o.row * 0.62, class: "lbl", "text-anchor": "end" },
        r.label.length > 9 ? r.label.slice(0, 8) + "…" : r.label));
      let x = o.labelWidth;
      r.parts.forEach((p) => {
        if (!p.value) return;
        const w = (p.value / total) * span;
        const rect = svg("rect", { x, y: y + 3, width: w, height: o.row - 8, class: p.cls });
        rect.append(svg("title", {}, `${r.label} ${p.name}：${p.value}（${((p.value / total) * 100).toFixed(0)}%）`));
        root.append(rect);
        x += w;
      });
    });
    C.clear(container).append(root, legend(names));
  }

  /** parts: [{name, value, cls}] -> donut with the total in the middle and a legend. */
  function donut(container, parts, centre) {
    const total = parts.reduce((s, p) => s + p.value, 0);
    if (!total) return empty(container);
    const size = 160, r = 60, w = 22, c = 2 * Math.PI * r;
    const root = svg("svg", { viewBox: `0 0 ${size} ${size}`, class: "donut", role: "img", "aria-label": "占比图" });
    let offset = 0;
    parts.forEach((p) => {
      if (!p.value) return;
      const len = (p.value / total) * c;
      const arc = svg("circle", { cx: size / 2, cy: size / 2, r, fill: "none", "stroke-width": w, class: p.cls,
        "stroke-dasharray": `${len} ${c - len}`, "stroke-dashoffset": -offset,
        transform: `rotate(-90 ${size / 2} ${size / 2})` });
      arc.append(svg("title", {}, `${p.name}：${p.value}（${((p.value / total) * 100).toFixed(1)}%）`));
      root.append(arc);
      offset += len;
    });
    root.append(svg("text", { x: size / 2, y: size / 2 - 2, "text-anchor": "middle", class: "donut-big" },
      centre ? centre.big : String(total)));
    root.append(svg("text", { x: size / 2, y: size / 2 + 18, "text-anchor": "middle", class: "donut-small" },
      centre ? centre.small : "合计"));
    const items = parts.map((p) => ({ name: `${p.name} ${p.value}（${((p.value / total) * 100).toFixed(0)}%）`,
      cls: p.cls }));
    C.clear(container).append(C.el("div", { class: "donut-wrap" }, root, legend(items)));
  }

  function legend(items) {
    return C.el("ul", { class: "legend" }, items.map((i) =>
      C.el("li", {}, C.el("i", { class: "sw " + i.cls }), i.name)));
  }

  return { bars, stacked, donut };
})();
