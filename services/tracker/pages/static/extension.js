/* The extension request (延期申请) in the case dialog: what was asked, by whom, and 批准延期 / 驳回延期. */
"use strict";

const Extension = (() => {
  const { el, clear, api, toast } = C;
  const when = (iso) => (C.when ? C.when(iso) : C.time(iso));
  const who = (actor) => (C.label ? C.label("actor", actor) : actor || "—");
  const STATE = { requested: "延期待审批", approved: "已批准延期", refused: "延期已驳回" };

  function row(label, value) {
    const shown = value === null || value === undefined || value === "" ? "—" : value instanceof Node ? value : String(value);
    return [el("dt", {}, label), el("dd", {}, shown)];
  }

  async function post(c, path, body, errNode, action, onDone) {
    try {
      await api("POST", `/api/v1/cases/${encodeURIComponent(c.ticket_no)}/${path}`, { ...body, action_id: C.uid() });
      if (C.done) C.done(action, c.ticket_no); else toast(`${c.ticket_no}：${action === "extension_approve" ? "已批准延期" : "已驳回延期"}`, "ok");
      await onDone();
    } catch (e) {
      errNode.textContent = e.message;
      errNode.classList.remove("hidden");
    }
  }

  function refuseForm(c, panel, err, onDone) {
    const reason = el("textarea", { name: "reason", rows: 2, maxlength: 1000, placeholder: "请填写驳回原因（必填）",
      oninput: () => err.classList.add("hidden") });
    const f = el("form", { class: "action-form", novalidate: true }, el("label", {}, "驳回原因", reason),
      el("div", { class: "buttons" }, el("button", { type: "submit", class: "primary", dataset: { action: "extension_refuse_confirm" } }, "确认驳回延期"),
        el("button", { type: "button", onclick: () => clear(panel) }, "取消")));
    f.addEventListener("submit", (e) => {
      e.preventDefault();
      const text = reason.value.trim();
      if (text.length < 2) {
        err.textContent = text ? "驳回原因至少填写 2 个字" : "请填写驳回原因";
        err.classList.remove("hidden");
        reason.focus();
        return;
      }
      err.classList.add("hidden");
      post(c, "extension/refuse", { reason: text }, err, "extension_refuse", onDone);
    });
    clear(panel).append(f);
    reason.focus();
  }

  /** The section for the case dialog (null when the case never asked for more time). */
  function section(c, canDecide, onDone) {
    const x = c.extension_request;
    if (!x) return null;
    const err = el("p", { class: "error hidden", role: "alert" });
    const panel = el("div", { class: "panel" });
    const facts = el("dl", { class: "facts" },
      row("状态", STATE[x.state] || x.state), row("申请延长", x.hours ? `${x.hours} 小时` : null),
      row("申请人", who(x.requested_by)), row("申请时间", x.requested_at ? when(x.requested_at) : null),
      row("申请理由", x.reason),
      x.state === "requested" ? row("原办结时限", x.resolve_by ? when(x.resolve_by) : null) : null,
      x.state === "requested" ? row("延期后时限", x.new_resolve_by ? when(x.new_resolve_by) : null) : null,
      x.state === "approved" ? row("办结时限延至", x.new_resolve_by ? when(x.new_resolve_by) : null) : null,
      x.state !== "requested" ? row("审批人", who(x.decided_by)) : null,
      x.state !== "requested" ? row("审批时间", x.decided_at ? when(x.decided_at) : null) : null,
      x.state === "refused" ? row("驳回原因", x.refusal_reason) : null);
    const out = el("section", { class: "extension-request ext-" + x.state, id: "extension-request", "aria-live": "polite" },
      el("h3", {}, "延期申请"), facts);
    if (x.state === "requested" && canDecide) {
      out.append(el("div", { class: "buttons wrap" },
        el("button", { type: "button", class: "primary", dataset: { action: "extension_approve" },
          onclick: () => post(c, "extension/approve", {}, err, "extension_approve", onDone) }, "批准延期"),
        el("button", { type: "button", dataset: { action: "extension_refuse" },
          onclick: () => refuseForm(c, panel, err, onDone) }, "驳回延期")), panel, err);
    }
    return out;
  }

  return { section, STATE };
})();
