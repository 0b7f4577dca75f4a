/* Case detail dialog of the dashboard, with the command-centre actions the workflow allows. */
"use strict";

const Detail = (() => {
  const { el, clear, $, api, toast, time } = C;
  const ACTIONS = [
    // [action, label, path, form fields]
    ["verify", "核查结案", "verify", []],
    ["reopen", "返工", "reopen", [["reason", "返工原因", "textarea"]]],
    // 批准延期 / 驳回延期: in the extension section (extension.js), with the request and a refusal reason
    ["decide", "裁定承办单位", "decide", [["unit", "承办单位", "unit"], ["category", "类别（可选更正）", "category"]]],
    ["reassign", "改派", "reassign", [["unit", "改派到", "unit"], ["category", "类别（可选更正）", "category"]]],
    ["supervise", "督办", "supervise", [["note", "督办意见", "textarea"], ["unit", "督办单位（默认承办单位）", "unit?"]]],
    ["merge", "合并到工单", "merge", [["into_ticket", "合并到的工单号", "text"]]],
    ["forward", "转12345", "forward", [["note", "转办说明", "textarea"]]],
    ["answer", "直接答复", "answer", [["answer", "答复内容", "textarea"]]],
  ];
  let current = null;

  function summary(h) {
    const d = h.data || {};
    const L = C.label;
    const parts = [];
    if (d.from_unit) parts.push("原单位：" + L("unit", d.from_unit));
    if (d.unit) parts.push("单位：" + L("unit", d.unit));
    if (d.category) parts.push("类别：" + L("category", d.category));
    if (d.rule) parts.push("规则：" + L("rule", d.rule));
    if (d.resolve_by) parts.push("办结时限延至：" + time(d.resolve_by));
    for (const [k, label] of [["reason", "原因"], ["result", "结果"], ["disposal_mode", "方式"], ["note", "意见"],
      ["hours", "小时"], ["text", "内容"], ["rating", "评价"], ["into_ticket", "并入"], ["answer", "答复"]]) {
      if (d[k] !== undefined && d[k] !== null && d[k] !== "") parts.push(`${label}：${d[k]}`);
    }
    if (d.override) {
      const o = d.override;
      parts.push("接线员更正：" + [o.category && L("category", o.category), o.territory && L("town", o.territory),
        o.unit && L("unit", o.unit)].filter(Boolean).join("、"));
    }
    if (d.linked_calls) parts.push(`第 ${d.linked_calls} 次补充来电`);
    return parts.join("；");
  }

  function field(name, label, kind, M) {
    if (kind === "textarea") return el("label", {}, label, el("textarea", { name, rows: 2, maxlength: 1000, required: true }));
    if (kind === "text") return el("label", {}, label, el("input", { name, maxlength: 32, required: true }));
    if (kind.startsWith("unit")) {
      return el("label", {}, label, el("select", { name, required: kind === "unit" },
        kind === "unit?" ? el("option", { value: "" }, "（承办单位）") : null,
        M.units.map((u) => el("option", { value: u.id }, u.name))));
    }
    return el("label", {}, label, el("select", { name }, el("option", { value: "" }, "（不变）"),
      M.categories.map((c) => el("option", { value: c.code }, c.name))));
  }

  function actionArea(c, M) {
    const allowed = new Set(M.transitions[c.status] || []);
    const buttons = el("div", { class: "buttons wrap" });
    const panel = el("div", { class: "panel" });
    for (const [action, label, path, fields] of ACTIONS) {
      if (!allowed.has(action)) continue;
      buttons.append(el("button", { type: "button", dataset: { action }, class: fields.length ? "" : "primary",
        onclick: () => fields.length ? form(c, label, path, fields, panel, M) : run(c, path, {}) }, label));
    }
    if (!buttons.childNodes.length) buttons.append(el("span", { class: "muted" }, "当前状态下指挥中心无需操作"));
    return el("section", { class: "detail-actions" }, el("h3", {}, "指挥中心操作"), buttons, panel);
  }

  function form(c, label, path, fields, panel, M) {
    const err = el("p", { class: "error hidden", role: "alert" });
    const f = el("form", { class: "action-form" }, fields.map(([n, l, k]) => field(n, l, k, M)), err,
      el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary" }, "确认" + label),
        el("button", { type: "button", onclick: () => clear(panel) }, "取消")));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const body = {};
      for (const [n] of fields) { const v = f.elements[n].value.trim(); if (v) body[n] = n === "into_ticket" ? v.toUpperCase() : v; }
      run(c, path, body, err);
    });
    clear(panel).append(f);
  }

  async function run(c, path, body, errNode) {
    try {
      const r = await api("POST", `/api/v1/cases/${encodeURIComponent(c.ticket_no)}/${path}`, { ...body, action_id: C.uid() });
      C.done((ACTIONS.find((a) => a[2] === path) || [path])[0], c.ticket_no);  // the action done, not the new status
      await afterAction(c.ticket_no);
    } catch (e) {
      if (errNode) { errNode.textContent = e.message; errNode.classList.remove("hidden"); } else toast(e.message, "error");
    }
  }

  async function afterAction(ticket) { await open(ticket); window.Dash.refresh(); }

  // a second city matter the text raises (routed nowhere), shown small beside the category
  function withSecondary(category, c, M) {
    if (!c.secondary_category) return category;
    const name = c.secondary_category_name || C.label("category", c.secondary_category);
    return el("span", {}, category || "—", el("span", { class: "secondary muted small" }, "　另一诉求：" + name));
  }

  // the case's stored photos as thumbnails (photos.js), then voice messages, links, photos not yet copied
  function photoRows(c) {
    if (typeof Photos === "undefined") return row("照片/语音", C.attachments(c));
    return [...row("现场照片", Photos.thumbs(c)), ...row("语音/链接", C.attachments(Photos.others(c)))];
  }

  function row(label, value) { return [el("dt", {}, label), el("dd", {}, value === null || value === undefined || value === "" ? "—" : value)]; }

  async function open(ticket) {
    const M = window.Dash.M;
    const dialog = $("detail");
    let c;
    try { c = await api("GET", `/api/v1/cases/${encodeURIComponent(ticket)}`); } catch (e) { toast(e.message, "error"); return; }
    current = c;
    $("detail-title").textContent = `工单 ${c.ticket_no}`;
    const cat = M.cat[c.category];
    const body = clear($("detail-body"));
    body.append(
      el("div", { class: "detail-badges" }, C.badge(C.label("status", c.status), "st-" + c.status),
        c.urgent ? C.badge("紧急", "urgent") : null, c.review ? C.badge("需复核", "warn") : null,
        c.extension ? C.badge(Extension.STATE[c.extension] || c.extension, "ext-" + c.extension + (c.extension === "requested" ? " warn" : "")) : null),
      el("p", { class: "text" }, c.text),
      el("dl", { class: "facts" },
        row("类别", withSecondary(cat ? `${cat.group_name} / ${cat.name}` : C.label("category", c.category), c, M)), row("地点", [c.territory_name, c.village].filter(Boolean).join(" / ")),
        row("地址", c.address), row("承办单位", C.label("unit", c.unit)), row("来电人", [c.name, c.phone].filter(Boolean).join(" ")),
        row("受理时间", time(c.received_at)), row("签收时限", time(c.accept_by)), row("办结时限", time(c.resolve_by)),
        row("处置结果", c.result ? `${c.disposal_mode || ""} ${c.result}` : null), row("评价", c.rating), row("派单规则", c.rule ? C.label("rule", c.rule) : null),
        ...photoRows(c)),
      Extension.section(c, (M.transitions[c.status] || []).includes("extension_approve"), () => afterAction(c.ticket_no)) || "",
      actionArea(c, M),
      el("section", {}, el("h3", {}, "办理记录"), el("ol", { class: "history" }, (c.history || []).map((h) =>
        el("li", {}, el("span", { class: "t" }, C.when(h.at)), el("b", {}, C.label("event", h.type)),
          el("span", { class: "muted small actor" }, " " + C.label("actor", h.actor)), el("div", { class: "small" }, summary(h)))))));
    if (!dialog.open) dialog.showModal();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("detail-close").addEventListener("click", () => $("detail").close());
  });
  if (document.readyState !== "loading") $("detail-close").addEventListener("click", () => $("detail").close());

  return { open, get current() { return current; } };
})();
