/* Squad queue: own unit's open cases by deadline (urgent first), live countdowns, workflow actions. */
"use strict";

(() => {
  const { el, clear, $, api, meta, toast, time } = C;
  const OPEN = "dispatched,accepted,in_progress,reopened";
  const photos = Photos.queue("squad");  // site photos (photos.js): kept until the server has them
  const photoUrl = (c) => `/api/v1/cases/${encodeURIComponent(c.ticket_no)}/photos`;
  const me = document.body.dataset;
  let unit = me.unit || "";
  let M = null;
  let cases = [];
  let stale = false;  // a refresh arrived while a form was open: re-render when it closes

  function busy() { return !!document.querySelector("#queue .panel form"); }

  function deadline(c) {
    return c.status === "dispatched" ? { at: c.accept_by, what: "签收" } : { at: c.resolve_by, what: "办结" };
  }

  function sortQueue(list) {
    return list.slice().sort((a, b) => (b.urgent - a.urgent) ||
      (new Date(deadline(a).at || 8.64e15) - new Date(deadline(b).at || 8.64e15)));
  }

  async function load() {
    if (!unit) return;
    try {
      // the whole open queue, page by page (keyset cursor: never a case twice or skipped)
      const all = [];
      let cursor = null;
      for (let n = 0; n < 20; n++) {
        const page = await api("GET", `/api/v1/cases?status=${OPEN}&unit=${encodeURIComponent(unit)}&limit=300` +
          (cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""));
        all.push(...page.cases);
        cursor = page.next_cursor;
        if (!cursor) break;
      }
      cases = sortQueue(all);
      if (busy()) stale = true; else render();
      loadNotices();
    } catch (e) { toast(e.message, "error"); }
  }

  async function loadNotices() {
    try {
      const since = new Date(Date.now() - 3 * 86400000).toISOString();
      const r = await api("GET", `/api/v1/alerts?unit=${encodeURIComponent(unit)}&kind=supervision,accept_overdue,resolve_overdue,hotspot&limit=5&since=${encodeURIComponent(since)}`);
      const box = clear($("notices"));
      for (const a of r.alerts) {
        box.append(el("div", { class: "notice " + a.kind }, C.badge(C.label("alert", a.kind), a.kind),
          " ", el("span", {}, C.label("text", a.message)), el("span", { class: "muted small" }, " ", C.when(a.raised_at))));
      }
    } catch (e) { /* notices are secondary */ }
  }

  function render() {
    stale = false;
    const q = clear($("queue"));
    $("queue-empty").classList.toggle("hidden", cases.length > 0);
    $("squad-title").textContent = `${C.label("unit", unit)} · 待办 ${cases.length} 件`;
    for (const c of cases) q.append(card(c));
    q.append(...leftPhotos());
    tick();
  }

  // photos still uploading for a case no longer in the queue (resolved, reassigned): shown, never dropped
  function leftPhotos() {
    const shown = new Set(cases.map((c) => c.ticket_no));
    return photos.keys().filter((k) => !shown.has(k) && photos.list(k).some((i) => i.state !== "done"))
      .map((k) => el("section", { class: "case left-photos", dataset: { ticket: k } },
        el("header", {}, el("b", { class: "tno" }, k), el("span", { class: "muted small" }, "　该工单已不在待办中，照片仍会上传")),
        Photos.list(photos, k)));
  }

  function card(c) {
    const d = deadline(c);
    const cat = M.cat[c.category];
    const cd = el("span", { class: "countdown", dataset: { at: d.at || "", start: c.received_at } });
    const actions = el("div", { class: "actions" });
    const panel = el("div", { class: "panel" });
    const media = C.attachments(Photos.others(c));  // voice, links; stored photos are thumbnails
    const stored = new Set((c.attachments || []).map((a) => a.stored_url).filter(Boolean));
    const allowed = M.transitions[c.status] || [];
    const add = (action, label, cls, fn) => {
      if (allowed.includes(action)) actions.append(el("button", { type: "button", class: cls || "", dataset: { action },
        onclick: fn }, label));
    };
    add("accept", "签收", "primary", () => act(c, "accept", {}));
    add("start", "开始处置", "", () => act(c, "start", {}));
    add("resolve", "处置反馈", "primary", () => showForm(c, panel, "resolve"));
    add("extension", "申请延期", "", () => showForm(c, panel, "extension"));
    add("return", "退单", "danger", () => showForm(c, panel, "return"));
    const node = el("article", { class: "case" + (c.urgent ? " urgent" : ""), id: "case-" + c.ticket_no,
      dataset: { ticket: c.ticket_no, status: c.status } },
      el("header", {}, el("b", { class: "tno" }, c.ticket_no), c.urgent ? C.badge("紧急", "urgent") : null,
        C.badge(C.label("status", c.status), "st-" + c.status), el("span", { class: "grow" }),
        el("span", { class: "deadline" }, d.what + "：", cd)),
      el("p", { class: "cat" }, cat ? cat.name : C.label("category", c.category),
        c.secondary_category ? el("span", { class: "secondary muted small" }, "　另一诉求："
          + (c.secondary_category_name || C.label("category", c.secondary_category))) : null,
        el("span", { class: "muted" }, " · " + [c.territory_name, c.village].filter(Boolean).join(" / "))),
      el("p", { class: "text" }, c.text),
      el("p", { class: "meta muted small" },
        [c.address ? "地点：" + c.address : null, c.name ? "来电人：" + c.name : null,
          c.phone ? "电话：" + c.phone : null, "受理："].filter(Boolean).join("　"), C.when(c.received_at),
        c.returns ? `　已退单 ${c.returns} 次` : null),
      media ? el("p", { class: "small" }, "照片/语音：", media) : null,
      Photos.thumbs(c), M.me.role === "squad" ? Photos.picker(photos, c.ticket_no, photoUrl(c), { known: stored }) : null,
      actions, panel);
    return node;
  }

  function showForm(c, panel, kind) {
    clear(panel);
    panel.dataset.kind = kind;
    const err = el("p", { class: "error hidden", role: "alert" });
    const cancel = el("button", { type: "button", onclick: () => {
      clear(panel);
      if (stale) { stale = false; render(); }
    } }, "取消");
    let f;
    if (kind === "resolve") {
      const modes = el("fieldset", { class: "modes" }, el("legend", {}, "处置方式"),
        M.disposal_modes.map((m, i) => el("label", { class: "radio" },
          el("input", { type: "radio", name: "mode-" + c.ticket_no, value: m, checked: i === 0 }), m)));
      f = el("form", { class: "action-form" },
        el("label", {}, "处置结果", el("textarea", { name: "result", rows: 3, maxlength: 2000, required: true,
          placeholder: "现场核实情况和处理结果" })), modes,
        el("p", { class: "small muted" }, "本工单已拍的现场照片随反馈一并提交（在上方“拍照”添加）。"), err,
        el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary" }, "提交反馈"), cancel));
      f.addEventListener("submit", (e) => { e.preventDefault(); resolveWithPhotos(c, f, err); });
    } else if (kind === "extension") {
      f = el("form", { class: "action-form" },
        el("label", {}, "延长小时数", el("input", { name: "hours", type: "number", min: 1, max: 720, value: 24, required: true })),
        el("label", {}, "延期原因", el("textarea", { name: "reason", rows: 2, maxlength: 1000, required: true })), err,
        el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary" }, "提交申请"), cancel));
      f.addEventListener("submit", (e) => { e.preventDefault();
        act(c, "extension", { hours: Number(f.hours.value), reason: f.reason.value.trim() }, err); });
    } else {
      f = el("form", { class: "action-form" },
        el("label", {}, "退单原因", el("textarea", { name: "reason", rows: 2, maxlength: 1000, required: true,
          placeholder: "例如：不属于本辖区，应为……" })), err,
        el("div", { class: "buttons" }, el("button", { type: "submit", class: "danger" }, "确认退单"), cancel));
      f.addEventListener("submit", (e) => { e.preventDefault(); act(c, "return", { reason: f.reason.value.trim() }, err); });
    }
    panel.append(f);
    const first = f.querySelector("textarea, input");
    if (first) first.focus();
  }

  /** 处置反馈 once the case's photos are uploaded; it names them (the unbound stored ones and the new). */
  async function resolveWithPhotos(c, f, err) {
    const submit = f.querySelector("button[type=submit]");
    const label = submit.textContent;
    err.classList.add("hidden");
    if (photos.busy(c.ticket_no)) { submit.disabled = true; submit.textContent = "照片上传中，完成后自动提交…"; }
    const { done, failed } = await photos.settled(c.ticket_no);
    submit.disabled = false; submit.textContent = label;
    if (failed.length) {
      err.textContent = `有 ${failed.length} 张照片未能上传（${failed[0].error}），请重试或删除后再提交`;
      err.classList.remove("hidden");
      return;
    }
    const given = new Set(c.photos || []);
    const refs = [...(c.attachments || []).filter((a) => a.source === "squad" && a.stored_url && !given.has(a.stored_url))
      .map((a) => a.stored_url), ...done.map((i) => i.result.stored_url)];
    const mode = f.querySelector("input[type=radio]:checked");
    const ok = await act(c, "resolve", { result: f.result.value.trim(), disposal_mode: mode ? mode.value : "服务",
      photos: [...new Set(refs)].slice(-9) }, err);
    if (ok) photos.forget(c.ticket_no);
  }

  async function act(c, action, body, errNode) {
    try {
      const r = await api("POST", `/api/v1/cases/${encodeURIComponent(c.ticket_no)}/${action}`,
        { ...body, action_id: C.uid() });
      C.done(action, c.ticket_no);  // the action done (已签收), not the new status
      const form = errNode ? errNode.closest("form") : null;
      if (form) form.remove();
      await load();
      return true;
    } catch (e) {
      if (errNode) { errNode.textContent = e.message; errNode.classList.remove("hidden"); } else toast(e.message, "error");
      return false;
    }
  }

  function tick() {
    for (const node of document.querySelectorAll(".countdown")) {
      const cd = C.countdown(node.dataset.at, node.dataset.start);
      node.textContent = cd.text;
      node.className = "countdown " + cd.cls;
    }
  }

  async function init() {
    M = await meta();
    if (M.me.role !== "squad") {  // command centre / admin: pick the unit to look at
      const select = $("unit-select");
      for (const u of M.units) select.append(el("option", { value: u.id }, u.name));
      unit = new URLSearchParams(location.search).get("unit") || M.units[0].id;
      select.value = unit;
      select.addEventListener("change", () => { unit = select.value; load(); });
      $("unit-pick").classList.remove("hidden");
    }
    await load();
    setInterval(tick, 1000);
    setInterval(load, 60000);
    const reload = C.debounce(load, 400);
    photos.on((item) => { if (item && item.state === "done" && item.key) reload(); });  // show it as a thumbnail
    if (M.me.role === "squad") photos.resume().then(() => { if (!busy()) render(); });  // photos left by a reload
    C.live((change) => { if (change.unit === unit || change.from_unit === unit) reload(); });
  }

  init().catch((e) => toast(e.message, "error"));
})();
