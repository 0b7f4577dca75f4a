/* Operator console: suggestions while typing, possible duplicates beside the form (duplicates.js), filing with overrides. */
"use strict";

(() => {
  const { el, clear, $, api, meta, toast, time } = C;
  const form = $("call-form");
  let callKey = C.uid();          // one Idempotency-Key per call: a double click files once
  let lastSuggest = null;
  let seq = 0;

  function fields() {
    const v = (id) => $(id).value.trim();
    return { text: v("text"), phone: v("phone"), name: v("name") || null, address: v("address") || null,
      category_override: v("category_override") || null, territory_override: v("territory_override") || null,
      unit_override: v("unit_override") || null };
  }

  function fillSelect(select, options) {
    for (const [value, label] of options) select.append(el("option", { value }, label));
  }

  async function init() {
    const m = await meta();
    fillSelect($("category_override"), m.categories.map((c) => [c.code, `${c.group_name} / ${c.name}`]));
    fillSelect($("territory_override"), m.territories.map((t) => [t.code, t.name]));
    fillSelect($("unit_override"), m.units.map((u) => [u.id, u.name]));
  }

  // evidence terms and review reasons in Chinese (kw:GAS_SAFETY -> 关键词：燃气安全): common.js's label()
  const cue = (term) => C.label("evidence", term);
  const reason = (text) => C.label("reason", text);

  const suggestSoon = C.debounce(suggest, 350);

  async function suggest() {
    const f = fields();
    if (f.text.length < 2) {
      seq++;
      $("suggest-body").classList.add("hidden");
      $("suggest-empty").classList.remove("hidden");
      Dups.clearList();
      return;
    }
    const mine = ++seq;
    $("suggest-state").textContent = "分析中…";
    Dups.waiting();
    try {
      const body = { text: f.text, address: f.address, category_override: f.category_override,
        territory_override: f.territory_override, unit_override: f.unit_override };
      const s = await api("POST", "/api/v1/suggest", body);
      if (mine !== seq) return;  // a newer request is on its way
      lastSuggest = s;
      showSuggestion(s);
      $("suggest-state").textContent = "";
    } catch (e) {
      if (mine === seq) { $("suggest-state").textContent = e.message; Dups.note(e.message); }
    }
  }

  function showSuggestion(s) {
    $("suggest-empty").classList.add("hidden");
    $("suggest-body").classList.remove("hidden");
    const cands = clear($("sg-categories"));
    s.candidates.forEach((c, i) => {
      const meter = el("span", { class: "meter" }, el("span", { class: "fill" + (i ? " second" : "") }));
      meter.firstChild.style.width = Math.round(c.score * 100) + "%";
      cands.append(el("li", { class: i ? "second" : "first" }, el("b", {}, c.name), meter,
        el("span", { class: "score" }, (c.score * 100).toFixed(0) + "%")));
    });
    const second = $("sg-secondary");  // a second city matter the text raises: shown, not routed
    second.textContent = s.secondary ? "另一诉求：" + s.secondary.name : "";
    second.classList.toggle("hidden", !s.secondary);
    const ev = clear($("sg-evidence"));
    ev.append("依据：");
    s.evidence.filter((e) => e.category === s.category.code && e.term.length >= 2).slice(0, 6)
      .forEach((e) => ev.append(el("span", { class: "chip" }, cue(e.term))));
    const p = s.place;
    $("sg-place").textContent = p.territory_name ? [p.territory_name, p.village].filter(Boolean).join(" / ") : "未识别（将转指挥中心）";
    $("sg-place").className = "big" + (p.territory_name ? "" : " warn-text");
    const pe = clear($("sg-place-evidence"));
    p.evidence.slice(0, 3).forEach((t) => pe.append(el("span", { class: "chip" }, C.label("place", t))));
    $("sg-unit").textContent = s.unit.name;
    $("sg-unit").title = "派单规则：" + C.label("rule", s.unit.rule);
    $("sg-deadlines").textContent = `签收时限 ${time(s.accept_by)} · 办结时限 ${time(s.resolve_by)}`;
    const urgent = clear($("sg-urgent"));
    if (s.urgent) {
      urgent.append(C.badge("紧急", "urgent"), " ",
        ...s.urgent_evidence.filter((t) => t.length >= 2 && !t.startsWith("p=")).slice(0, 4)
          .map((t) => el("span", { class: "chip" }, cue(t))));
    } else urgent.append(el("span", { class: "muted" }, "一般"));
    const review = clear($("sg-review"));
    review.classList.toggle("hidden", !s.review);
    if (s.review) review.append(el("p", { class: "warn-text" }, "建议人工确认：" + s.review_reasons.map(reason).join("；")));
    Dups.show(s.duplicates, s.duplicates_window_hours);
  }

  function showError(message) {
    const p = $("form-error");
    p.textContent = message;
    p.classList.toggle("hidden", !message);
  }

  function showTicket(ticket, note) {
    const box = clear($("ticket"));
    box.classList.remove("hidden");
    box.append(el("div", { class: "ticket-label" }, "工单号"), el("div", { class: "ticket-no", id: "ticket-no" }, ticket),
      el("p", { class: "muted" }, note));
    $("submit").disabled = true;
  }

  function remember(ticket, kind, text) {
    const list = $("recent");
    if (list.firstChild && list.firstChild.classList && list.firstChild.classList.contains("muted")) clear(list);
    list.prepend(el("li", {}, el("b", {}, ticket), " ", C.badge(kind), " ",
      el("span", { class: "muted" }, C.clock()), el("div", { class: "small clip" }, text)));
  }

  async function submit(ev) {
    ev.preventDefault();
    const f = fields();
    if (!f.phone) return showError("请填写来电号码");
    if (f.text.length < 2) return showError("请填写投诉内容");
    showError("");
    const body = { channel: "hotline", text: f.text, phone: f.phone, name: f.name, address: f.address };
    for (const k of ["category_override", "territory_override", "unit_override"]) if (f[k]) body[k] = f[k];
    $("submit").disabled = true;
    try {
      const r = await api("POST", "/api/v1/complaints", body, { "Idempotency-Key": callKey });
      const to = lastSuggest ? `预计派往：${lastSuggest.unit.name}` : "已受理，正在派单";
      showTicket(r.ticket_no, `请告知来电人工单号。${to}`);
      Dups.markFiled(r.ticket_no);
      remember(r.ticket_no, "受理", f.text);
      C.done("file", r.ticket_no);
    } catch (e) {
      showError(e.message);
      $("submit").disabled = false;
    }
  }

  function reset() {
    form.reset();
    callKey = C.uid();
    lastSuggest = null;
    seq++;
    showError("");
    $("submit").disabled = false;
    clear($("ticket")).classList.add("hidden");
    $("suggest-body").classList.add("hidden");
    $("suggest-empty").classList.remove("hidden");
    Dups.reset();
    $("phone").focus();
  }

  function linked(r, f) {
    showTicket(r.ticket_no, `已关联到在办工单（该工单第 ${r.linked_calls} 次补充来电），未新建工单`);
    remember(r.ticket_no, "关联", f.text);
    C.done("link", r.ticket_no);
  }

  Dups.init({ fields, key: () => callKey, error: showError, linked });
  form.addEventListener("submit", submit);
  $("new-call").addEventListener("click", reset);
  for (const id of ["text", "address"]) $(id).addEventListener("input", suggestSoon);
  for (const id of ["category_override", "territory_override", "unit_override"]) $(id).addEventListener("change", suggest);
  init().catch((e) => toast(e.message, "error"));
})();
