"use strict";
/* The citizens' page: look up a case by ticket number + the phone's last four digits, read its progress,
   add text or photos while it is open, rate it once resolved.  Everything from the API is shown with
   textContent.  The last four digits stay in this page's memory (never in the address bar); only a photo
   still waiting for its upload keeps them, in this browser's IndexedDB (photos.js), until the server has it. */
(() => {
  const TICKET = /^[A-Z]{1,6}\d{14}$/;
  const LAST4 = /^\d{4}$/;
  const API = "/api/v1/public/cases/";
  const $ = (id) => document.getElementById(id);
  const KEY = /^[0-9a-f]{32}$/; // the key of a notification's link (a WeChat citizen gave no phone number)
  let who = null; // { ticket, last4, key } of the case on screen

  /** The citizen's proof, as query parameters or as body fields. */
  const proofQuery = (w) => (w.key ? `k=${encodeURIComponent(w.key)}` : `phone_last4=${encodeURIComponent(w.last4)}`);
  const proofBody = (w) => (w.key ? { key: w.key } : { phone_last4: w.last4 });

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function show(node, on) { node.classList.toggle("c-hidden", !on); }
  function uid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  let toastTimer = 0;
  function toast(text) {
    const t = $("c-toast");
    t.textContent = text;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { t.textContent = ""; }, 4000);
  }

  /** The Chinese message of an error answer (the API's detail, or the 422 message). */
  function message(status, data) {
    if (data && typeof data.detail === "string") return data.detail;
    if (data && typeof data.message === "string") return data.message;
    if (status === 429) return "操作过于频繁，请稍后再试";
    if (status >= 500 || status === 0) return "服务暂时不可用，请稍后再试";
    return "请求未成功，请检查后重试";
  }

  async function call(method, path, json) {
    let r;
    try {
      r = await fetch(path, {
        method, headers: json ? { "Content-Type": "application/json" } : {},
        body: json ? JSON.stringify(json) : undefined, credentials: "omit", cache: "no-store",
      });
    } catch (_) {
      return { ok: false, status: 0, error: "网络连接失败，请检查网络后重试" };
    }
    let data = null;
    try { data = await r.json(); } catch (_) { data = null; }
    return r.ok ? { ok: true, status: r.status, data } : { ok: false, status: r.status, error: message(r.status, data) };
  }

  // --- look up ------------------------------------------------------------------------------
  async function lookup(ticket, last4, key) {
    const w = { ticket, last4: last4 || null, key: key || null };
    const r = await call("GET", `${API}${encodeURIComponent(ticket)}?${proofQuery(w)}`);
    if (!r.ok) return r;
    who = w;
    render(r.data);
    return r;
  }

  async function refresh() {
    if (!who) return;
    const r = await lookup(who.ticket, who.last4, who.key);
    if (!r.ok) toast(r.error);
  }

  function render(c) {
    $("c-ticket-no").textContent = c.ticket_no;
    $("c-headline").textContent = c.headline;
    $("c-category").textContent = c.category_name || "—";
    $("c-unit").textContent = c.handled_by || "正在安排";
    $("c-received").textContent = c.received_at_text || "—";
    const stages = clear($("c-stages"));
    for (const s of c.stages || []) {
      const li = el("li", { class: s.state }, s.label);
      if (s.state === "current") li.setAttribute("aria-current", "step");
      stages.appendChild(li);
    }
    const tl = clear($("c-timeline"));
    for (const item of c.timeline || []) {
      const li = el("li");
      li.appendChild(el("time", {}, item.at));
      li.appendChild(el("span", {}, item.text));
      tl.appendChild(li);
    }
    show($("c-result-card"), Boolean(c.result));
    $("c-result").textContent = c.result || "";
    show($("c-add"), Boolean(c.can_add));
    $("c-photo-count").textContent = String(c.photos_added || 0);
    mountPicker(c);
    show($("c-rate"), Boolean(c.can_rate));
    show($("c-rated"), Boolean(c.rating));
    $("c-rating").textContent = c.rating || "";
    show($("c-lookup"), false);
    show($("c-case"), true);
  }

  async function onLookup(ev) {
    ev.preventDefault();
    const ticket = $("c-ticket").value.replace(/\s+/g, "").toUpperCase();
    const last4 = $("c-last4").value.trim();
    const err = $("c-form-error");
    if (!TICKET.test(ticket)) { err.textContent = "工单号格式不正确：字母开头加14位数字，如 RG20261126000123"; return; }
    if (!LAST4.test(last4)) { err.textContent = "请输入手机号的后四位数字"; return; }
    err.textContent = "";
    $("c-go").disabled = true;
    $("c-go").textContent = "查询中…";
    const r = await lookup(ticket, last4);
    $("c-go").disabled = false;
    $("c-go").textContent = "查询";
    if (!r.ok) { err.textContent = r.error; return; }
    history.replaceState(null, "", `?t=${encodeURIComponent(ticket)}`);
    $("c-headline").focus();
  }

  function again() {
    who = null;
    $("c-last4").value = "";
    clear($("c-photo-box"));
    pickerFor = null;
    show($("c-case"), false);
    show($("c-lookup"), true);
    $("c-ticket").focus();
  }

  // --- add text ---------------------------------------------------------------------------
  async function onAdd(ev) {
    ev.preventDefault();
    const text = $("c-add-text").value.trim();
    const err = $("c-add-error");
    if (text.length < 2) { err.textContent = "请填写补充说明（至少2个字）"; return; }
    err.textContent = "";
    $("c-add-send").disabled = true;
    const r = await call("POST", `${API}${encodeURIComponent(who.ticket)}/supplements`,
      { ...proofBody(who), text });
    $("c-add-send").disabled = false;
    if (!r.ok) { err.textContent = r.error; return; }
    $("c-add-text").value = "";
    toast("已提交补充，承办单位会看到");
    await refresh();
  }

  // --- photos (photos.js, as on the squad's page: resized, kept until confirmed, retried, resumed) ------
  const photos = typeof Photos === "undefined" ? null : Photos.queue("citizen");
  let pickerFor = null; // the ticket whose picker is shown

  function mountPicker(c) {
    const box = $("c-photo-box");
    if (!photos || !c.can_add) { clear(box); pickerFor = null; return; }
    if (pickerFor === c.ticket_no) return; // keep the list of uploads across refreshes
    pickerFor = c.ticket_no;
    const url = `${API}${encodeURIComponent(who.ticket)}/photos?${proofQuery(who)}`;
    clear(box).appendChild(Photos.picker(photos, who.ticket, url));
  }

  let refreshTimer = 0;
  function onPhoto(item) {
    if (!item || item.state !== "done" || item.told) return;
    item.told = true;
    toast("照片已上传，承办单位会看到");
    if (who && item.key === who.ticket) {
      clearTimeout(refreshTimer);
      refreshTimer = setTimeout(refresh, 300); // one refresh for several photos
    }
  }

  // --- rate -------------------------------------------------------------------------------
  async function onRate(ev) {
    ev.preventDefault();
    const picked = document.querySelector("#c-rate-form input[name=rating]:checked");
    const err = $("c-rate-error");
    if (!picked) { err.textContent = "请选择满意、基本满意或不满意"; return; }
    err.textContent = "";
    const comment = $("c-rate-comment").value.trim();
    $("c-rate-send").disabled = true;
    const r = await call("POST", `${API}${encodeURIComponent(who.ticket)}/rating`,
      { ...proofBody(who), rating: picked.value, comment: comment || null, action_id: uid() });
    $("c-rate-send").disabled = false;
    if (!r.ok) { err.textContent = r.error; return; }
    toast("感谢您的评价！");
    await refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("c-form").addEventListener("submit", onLookup);
    $("c-add-form").addEventListener("submit", onAdd);
    $("c-rate-form").addEventListener("submit", onRate);
    if (photos) {
      photos.on(onPhoto);
      photos.resume(); // photos a closed tab or a lost connection left behind are uploaded now
    }
    $("c-again").addEventListener("click", again);
    $("c-headline").setAttribute("tabindex", "-1");
    const q = new URLSearchParams(location.search);
    const t = (q.get("t") || "").trim().toUpperCase();
    const k = (q.get("k") || "").trim().toLowerCase();
    if (TICKET.test(t) && KEY.test(k)) { // the notification's own link: open the case at once
      $("c-ticket").value = t;
      lookup(t, null, k).then((r) => {
        if (!r.ok) { $("c-form-error").textContent = r.error; $("c-last4").focus(); }
      });
    } else if (TICKET.test(t)) {
      $("c-ticket").value = t;
      $("c-last4").focus();
    } else {
      $("c-ticket").focus();
    }
  });
})();
