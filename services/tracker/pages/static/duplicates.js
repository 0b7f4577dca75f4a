/* Operator console: possible duplicates beside the form while the call is typed, and linking the call
   to one of them only after a confirmation that names both (确认关联 / 取消). */
"use strict";

const Dups = (() => {
  const { el, clear, $, api } = C;
  let ctx = null;       // { fields(), key(), error(message), linked(response, fields) } from console.js
  let filed = null;     // the ticket this call was filed as: linking it as well would count it twice
  let pending = null;   // the resolve() of the open confirmation

  function masked(phone) {
    return phone && phone.length >= 7 ? phone.slice(0, 3) + "****" + phone.slice(-4) : phone || "未填号码";
  }

  function clip(text, n) { return text.length > n ? text.slice(0, n - 1) + "…" : text; }

  function when(iso) { return C.when ? C.when(iso) : C.time(iso); }

  function state(text) { $("dups-state").textContent = text || ""; }

  /** The candidates of the last suggestion, best first (the panel stays where it is: beside the form). */
  function show(list, windowHours) {
    if (windowHours) $("dups-window").textContent = String(windowHours);
    state("");
    const ul = clear($("sg-duplicates"));
    $("dups-count").textContent = list.length ? `${list.length} 件` : "";
    $("dups-panel").classList.toggle("has-dups", list.length > 0);
    if (!list.length) { ul.append(el("li", { class: "muted" }, "没有发现相似的在办工单")); return; }
    for (const d of list) {
      const place = [d.territory_name, d.village].filter(Boolean).join(" / ") || "地点未识别";
      const btn = el("button", { type: "button", class: "link-btn", dataset: { ticket: d.ticket_no } }, "关联到此工单");
      btn.addEventListener("click", () => link(d, btn));
      if (filed) { btn.disabled = true; btn.title = `本次来电已受理为 ${filed}`; }
      ul.append(el("li", { class: "dup", dataset: { ticket: d.ticket_no } },
        el("div", { class: "dup-head" }, el("b", { class: "tno" }, d.ticket_no),
          el("span", { class: "sim", title: "综合地点、时间、文字与类别" }, `匹配 ${Math.round(d.score * 100)}%`)),
        el("p", { class: "dup-reason" }, d.reason),
        el("p", { class: "dup-text" }, d.text),
        el("div", { class: "dup-meta muted small" }, d.category_name || "类别未定", " · ", place, " · ",
          when(d.received_at), " · ", d.status_name || d.status),
        el("div", { class: "dup-foot" }, el("span", { class: "muted small" }, d.unit_name || ""), btn)));
    }
  }

  function waiting() { state("比对中…"); }

  function clearList() {
    state("");
    $("dups-count").textContent = "";
    $("dups-panel").classList.remove("has-dups");
    clear($("sg-duplicates")).append(el("li", { class: "muted" }, "输入投诉内容后，这里列出可能重复的在办工单"));
  }

  /** The call was filed as a new case: it can no longer be linked to another one. */
  function markFiled(ticket) {
    filed = ticket;
    for (const b of document.querySelectorAll("#sg-duplicates button.link-btn")) {
      b.disabled = true;
      b.title = `本次来电已受理为 ${ticket}`;
    }
  }

  function reset() { filed = null; clearList(); }

  /** Ask before linking: resolves true on 确认关联, false on 取消 / Esc. */
  function confirmLink(d, f) {
    const dialog = $("link-dialog");
    $("link-title").textContent = `将本次来电关联到工单 ${d.ticket_no}？`;
    clear($("link-call")).append(el("b", {}, "未建单"), " · 来电 ", masked(f.phone),
      el("div", { class: "small" }, clip(f.text, 90)));
    clear($("link-case")).append(el("b", {}, `工单 ${d.ticket_no}`), " · ", d.category_name || "类别未定", " · ",
      [d.territory_name, d.village].filter(Boolean).join(" / ") || "地点未识别", " · ", d.status_name || d.status,
      el("div", { class: "small" }, d.text), el("div", { class: "small muted" }, d.reason));
    return new Promise((resolve) => {
      pending = resolve;
      dialog.returnValue = "";
      dialog.showModal();
      $("link-cancel").focus();
    });
  }

  function answer(ok) {
    const dialog = $("link-dialog");
    if (dialog.open) dialog.close(ok ? "confirm" : "cancel");
  }

  async function link(d, btn) {
    const f = ctx.fields();
    if (!f.phone || f.text.length < 2) { ctx.error("请先填写来电号码和内容"); return; }
    if (filed) { ctx.error(`本次来电已受理为 ${filed}，不能再关联`); return; }
    if (!(await confirmLink(d, f))) { btn.focus(); return; }
    btn.disabled = true;
    try {
      const r = await api("POST", `/api/v1/cases/${encodeURIComponent(d.ticket_no)}/link`,
        { text: f.text, phone: f.phone, name: f.name }, { "Idempotency-Key": ctx.key() + "-link" });
      markFiled(r.ticket_no);
      ctx.linked(r, f);
    } catch (e) {
      ctx.error(e.message);
      btn.disabled = false;
    }
  }

  function init(options) {
    ctx = options;
    const dialog = $("link-dialog");
    $("link-cancel").addEventListener("click", () => answer(false));
    $("link-confirm").addEventListener("click", () => answer(true));
    dialog.addEventListener("close", () => {
      const resolve = pending;
      pending = null;
      if (resolve) resolve(dialog.returnValue === "confirm");
    });
    clearList();
  }

  return { init, show, waiting, note: state, reset, markFiled, clearList };
})();
