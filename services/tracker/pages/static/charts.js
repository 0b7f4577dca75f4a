/* Charts of the pages, drawn with Apache ECharts (static/vendor/echarts.min.js, bundled: no CDN).
 * Callers pass data and CSS class names; colours are read from style.css (the class's background),
 * so the palette stays in one place.  Tooltips are drawn on the canvas (renderMode richText): the
 * pages' CSP forbids the inline styles of ECharts' HTML tooltips.  Text a test or a screen reader
 * needs (legends) is plain HTML beside the chart. */
"use strict";

const Charts = (() => {
  const live = new Set();
  let resizeBound = false;

  function colour(cls, fallback) {
    if (!cls) return fallback;
    const probe = C.el("i", { class: "sw " + cls, "aria-hidden": "true" });
    document.body.append(probe);
    const c = getComputedStyle(probe).backgroundColor;
    probe.remove();
    return c && c !== "rgba(0, 0, 0, 0)" && c !== "transparent" ? c : fallback;
  }

  /** A colour of the page's CSS (custom property on body, inherited from :root); `o.vars` renames them. */
  function ink(name, fallback, o) {
    const v = getComputedStyle(document.body).getPropertyValue(((o && o.vars) || {})[name] || name).trim();
    return v || fallback;
  }

  function font() { return getComputedStyle(document.body).fontFamily || "sans-serif"; }

  /** The ECharts instance in `container` (created once, kept across redraws), `height` px tall. */
  function chart(container, height, label) {
    let box = container.querySelector(":scope > .ec, :scope > .donut-wrap > .ec");
    if (!box) {
      dispose(container);
      box = C.el("div", { class: "ec", role: "img" });
      C.clear(container).append(box);
    }
    if (label) box.setAttribute("aria-label", label);
    if (height) box.style.height = height + "px";
    let inst = echarts.getInstanceByDom(box);
    if (!inst) {
      inst = echarts.init(box, null, { renderer: "canvas" });
      live.add(inst);
    } else {
      inst.resize();
    }
    if (!resizeBound) {
      resizeBound = true;
      window.addEventListener("resize", C.debounce(() => live.forEach((i) => i.isDisposed() ? live.delete(i) : i.resize()), 150));
    }
    return inst;
  }

  function dispose(container) {
    for (const box of container.querySelectorAll(".ec")) {
      const inst = echarts.getInstanceByDom(box);
      if (inst) { live.delete(inst); inst.dispose(); }
    }
  }

  function empty(container, message) {
    dispose(container);
    C.clear(container).append(C.el("p", { class: "muted" }, message || "暂无数据"));
  }

  function base(o) {
    return {
      animation: false,
      aria: { enabled: true },
      textStyle: { fontFamily: font(), fontSize: o.fontSize || 12, color: ink("--ink", "#1d2733", o) },
      tooltip: { renderMode: "richText", confine: true, textStyle: { fontSize: o.fontSize || 12 } },
    };
  }

  /** items: [{label, value, title?, onclick?, cls?}] -> horizontal bars, largest first. */
  function bars(container, items, opts) {
    const o = Object.assign({ row: 24, cls: "bar", limit: 14, fmt: null, fontSize: 12 }, opts || {});
    const rows = items.filter((i) => i.value > 0).sort((a, b) => b.value - a.value).slice(0, o.limit);
    if (!rows.length) return empty(container);
    const inst = chart(container, rows.length * o.row + 16, o.label || "柱状图");
    const fill = colour(o.cls.split(" ").includes("alt") ? "c-bar-alt" : "c-bar", o.cls.includes("alt") ? "#2f9e9e" : "#3b7ddd");
    const shown = rows.slice().reverse();  // ECharts draws the first category at the bottom
    inst.setOption(Object.assign(base(o), {
      grid: { left: 8, right: 48, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: "value", show: false, max: o.max || null },
      yAxis: { type: "category", data: shown.map((r) => r.label), axisTick: { show: false },
        axisLine: { show: false }, axisLabel: { fontSize: o.fontSize, width: 110, overflow: "truncate" } },
      tooltip: Object.assign(base(o).tooltip, { formatter: (p) => shown[p.dataIndex].title || `${p.name}：${p.value}` }),
      series: [{ type: "bar", barMaxWidth: o.row - 8, itemStyle: { color: fill, borderRadius: 3 },
        label: { show: true, position: "right", fontSize: o.fontSize, formatter: (p) => (o.fmt ? o.fmt(p.value) : String(p.value)) },
        data: shown.map((r) => ({ value: r.value, itemStyle: r.cls ? { color: colour(r.cls, fill) } : undefined })) }],
    }), true);
    inst.off("click");
    inst.on("click", (p) => { const r = shown[p.dataIndex]; if (r && r.onclick) r.onclick(); });
    return inst;
  }

  /** rows: [{label, parts: [{name, value, cls}]}] -> 100% stacked horizontal bars with a legend. */
  function stacked(container, rows, names, opts) {
    const o = Object.assign({ row: 22, fontSize: 12 }, opts || {});
    const shown = rows.filter((r) => r.parts.some((p) => p.value > 0)).reverse();
    if (!shown.length) return empty(container, "暂无已处置工单");
    const partNames = shown[0].parts.map((p) => p.name);
    const totals = shown.map((r) => r.parts.reduce((s, p) => s + p.value, 0));
    const inst = chart(container, shown.length * o.row + 16, o.label || "构成图");
    inst.setOption(Object.assign(base(o), {
      grid: { left: 8, right: 8, top: 4, bottom: 4, containLabel: true },
      xAxis: { type: "value", max: 100, show: false },
      yAxis: { type: "category", data: shown.map((r) => r.label), axisTick: { show: false }, axisLine: { show: false } },
      series: partNames.map((name, k) => ({ type: "bar", stack: "all", name,
        itemStyle: { color: colour(shown[0].parts[k].cls, "#888") },
        data: shown.map((r, i) => (totals[i] ? (100 * r.parts[k].value) / totals[i] : 0)),
        tooltip: { formatter: (p) => `${shown[p.dataIndex].label} ${name}：${shown[p.dataIndex].parts[k].value}（${p.value.toFixed(0)}%）` } })),
    }), true);
    container.append(legend(names));
    return inst;
  }

  /** parts: [{name, value, cls}] -> donut with a figure in the middle and an HTML legend. */
  function donut(container, parts, centre) {
    const total = parts.reduce((s, p) => s + p.value, 0);
    if (!total) return empty(container);
    let wrap = container.querySelector(":scope > .donut-wrap");
    if (!wrap) {
      dispose(container);
      wrap = C.el("div", { class: "donut-wrap" }, C.el("div", { class: "ec donut", role: "img" }));
      C.clear(container).append(wrap);
    }
    const box = wrap.querySelector(".ec");
    box.setAttribute("aria-label", "占比图");
    const inst = echarts.getInstanceByDom(box) || echarts.init(box, null, { renderer: "canvas" });
    live.add(inst);
    const o = { fontSize: 12 };
    inst.setOption(Object.assign(base(o), {
      title: { text: centre ? centre.big : String(total), subtext: centre ? centre.small : "合计", left: "center", top: "36%",
        itemGap: 2, textStyle: { fontSize: 20, fontWeight: 700, fontFamily: font(), color: ink("--ink", "#1d2733") },
        subtextStyle: { fontSize: 11, fontFamily: font(), color: ink("--muted", "#6b7785") } },
      tooltip: Object.assign(base(o).tooltip, { trigger: "item", formatter: (p) => `${p.name}：${p.value}（${p.percent.toFixed(1)}%）` }),
      series: [{ type: "pie", radius: ["58%", "86%"], avoidLabelOverlap: false, label: { show: false }, labelLine: { show: false },
        data: parts.filter((p) => p.value).map((p) => ({ name: p.name, value: p.value, itemStyle: { color: colour(p.cls, "#888") } })) }],
    }), true);
    const old = wrap.querySelector(".legend");
    if (old) old.remove();
    wrap.append(legend(parts.map((p) => ({ name: `${p.name} ${p.value}（${((p.value / total) * 100).toFixed(0)}%）`, cls: p.cls }))));
    return inst;
  }

  /** Lines over categories: series [{name, data, cls, dashed?, area?}]; null values leave a gap. */
  function lines(container, categories, series, opts) {
    const o = Object.assign({ height: 260, fontSize: 12 }, opts || {});
    const inst = chart(container, o.height, o.label || "折线图");
    const muted = ink("--muted", "#6b7785", o);
    inst.setOption(Object.assign(base(o), {
      grid: { left: 8, right: 16, top: o.fontSize * 3, bottom: 4, containLabel: true },
      legend: { top: 0, right: 0, textStyle: { fontSize: o.fontSize, color: muted }, itemWidth: o.fontSize * 1.6, itemHeight: o.fontSize * 0.7 },
      tooltip: Object.assign(base(o).tooltip, { trigger: "axis" }),
      xAxis: { type: "category", data: categories, boundaryGap: false, axisLabel: { fontSize: o.fontSize, color: muted, interval: o.interval ?? "auto" } },
      yAxis: { type: "value", minInterval: 1, axisLabel: { fontSize: o.fontSize, color: muted }, splitLine: { lineStyle: { color: ink("--line", "#e2e6eb", o) } } },
      series: series.map((s) => {
        const c = colour(s.cls, "#3b7ddd");
        return { type: "line", name: s.name, data: s.data, connectNulls: false, symbol: "circle", symbolSize: o.fontSize * 0.5,
          lineStyle: { width: s.dashed ? 2 : 4, type: s.dashed ? "dashed" : "solid", color: c }, itemStyle: { color: c },
          areaStyle: s.area ? { color: c, opacity: 0.12 } : undefined };
      }),
    }), true);
    return inst;
  }

  /** A GeoJSON map (registered once under `name`): regions matched by `key`, coloured by value, labelled. */
  function geo(container, name, geojson, key, data, opts) {
    const o = Object.assign({ height: 500, fontSize: 16 }, opts || {});
    if (!echarts.getMap(name)) echarts.registerMap(name, geojson);
    const inst = chart(container, o.height, o.label || "地图");
    const byKey = new Map(data.map((d) => [d.key, d]));
    const max = Math.max(1, ...data.map((d) => d.value));
    inst.setOption(Object.assign(base(o), {
      visualMap: { show: false, min: 0, max, inRange: { color: [colour("c-map-low", "#dbe8f7"), colour("c-map-high", "#0b4a8b")] } },
      tooltip: Object.assign(base(o).tooltip, { trigger: "item", formatter: (p) => (byKey.get(p.name) || {}).title || p.name }),
      series: [{ type: "map", map: name, nameProperty: key, roam: false, selectedMode: false,
        layoutCenter: ["50%", "50%"], layoutSize: "96%",
        itemStyle: { borderColor: ink("--line", "#ffffff", o), borderWidth: 1 },
        label: { show: true, fontSize: o.fontSize, color: ink("--ink", "#1d2733", o), textBorderColor: "rgba(0, 0, 0, 0.6)",
          textBorderWidth: 3, lineHeight: o.fontSize * 1.25, formatter: (p) => { const d = byKey.get(p.name); return d ? `${d.label}\n${d.value}` : ""; } },
        emphasis: { disabled: true },
        data: data.map((d) => ({ name: d.key, value: d.value })) }],
    }), true);
    return inst;
  }

  function legend(items) {
    return C.el("ul", { class: "legend" }, items.map((i) =>
      C.el("li", {}, C.el("i", { class: "sw " + i.cls }), i.name)));
  }

  return { bars, stacked, donut, lines, geo, colour, dispose };
})();
