"use strict";
/* The citizens' page: look up a case by ticket number + the phone's last four digits, read its progress,
   add text or photos while it is open, rate it once resolved.  Everything from the API is shown with
   textContent.  The last four digits stay in this page's memory only (never in the address or storage). */
(() => {
  const TICKET = /^[A-Z]{1,6}\d{14}$/;
  const LAST4 = /^\d{4}$/;
  const API = "/api/v1/public/cases/";
  const MAX_SIDE = 1600; // photos are resized in the browser before upload
  const MAX_BYTES = 5 * 1024 * 1024;
  const RETRIES = 4;
  const $ = (id) => document.getElementById(id);
  let who = null; // { ticket, last4 } of the case on screen

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
  async function lookup(ticket, last4) {
    const r = await call("GET", `${API}${encodeURIComponent(ticket)}?phone_last4=${encodeURIComponent(last4)}`);
    if (!r.ok) return r;
    who = { ticket, last4 };
    render(r.data);
    return r;
  }

  async function refresh() {
    if (!who) return;
    const r = await lookup(who.ticket, who.last4);
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
    clear($("c-uploads"));
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
      { phone_last4: who.last4, text });
    $("c-add-send").disabled = false;
    if (!r.ok) { err.textContent = r.error; return; }
    $("c-add-text").value = "";
    toast("已提交补充，承办单位会看到");
    await refresh();
  }

  // --- photos -----------------------------------------------------------------------------
  async function decode(file) {
    if (window.createImageBitmap) return createImageBitmap(file);
    const url = await new Promise((ok, fail) => {
      const fr = new FileReader();
      fr.onload = () => ok(fr.result);
      fr.onerror = () => fail(fr.error);
      fr.readAsDataURL(file);
    });
    return new Promise((ok, fail) => {
      const img = new Image();
      img.onload = () => ok(img);
      img.onerror = () => fail(new Error("decode"));
      img.src = url;
    });
  }

  function draw(img, side) {
    const w = img.width, h = img.height;
    const k = Math.min(1, side / Math.max(w, h));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(w * k));
    canvas.height = Math.max(1, Math.round(h * k));
    canvas.getContext("2d").drawImage(img, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  /** { blob, thumb }: the photo as a JPEG of at most MAX_SIDE px, and a small preview (data: URL). */
  async function prepare(file) {
    let img;
    try { img = await decode(file); } catch (_) { img = null; }
    if (!img) {
      if (/^image\/(jpeg|png|webp)$/.test(file.type)) return { blob: file, thumb: null };
      throw new Error("无法读取这张照片，请换一张（支持 JPG、PNG、WebP）");
    }
    const blob = await new Promise((ok) => draw(img, MAX_SIDE).toBlob(ok, "image/jpeg", 0.85));
    const thumb = draw(img, 112).toDataURL("image/jpeg", 0.7);
    if (img.close) img.close();
    return { blob: blob || file, thumb };
  }

  /** One try: resolves { status, data } (status 0: the connection failed). */
  function send(blob, key, onProgress) {
    return new Promise((resolve) => {
      const x = new XMLHttpRequest();
      x.open("POST", `${API}${encodeURIComponent(who.ticket)}/photos`);
      x.setRequestHeader("X-Phone-Last4", who.last4);
      x.setRequestHeader("Idempotency-Key", key);
      x.setRequestHeader("Content-Type", blob.type || "application/octet-stream");
      x.timeout = 60000;
      x.upload.onprogress = (e) => { if (e.lengthComputable) onProgress(e.loaded / e.total); };
      x.onload = () => {
        let data = null;
        try { data = JSON.parse(x.responseText); } catch (_) { data = null; }
        resolve({ status: x.status, data });
      };
      x.onerror = x.ontimeout = x.onabort = () => resolve({ status: 0, data: null });
      x.send(blob);
    });
  }

  const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

  async function upload(file) {
    const li = el("li");
    const img = el("img", { alt: "待上传的照片" });
    const bar = el("progress", { max: "1", value: "0" });
    const state = el("span", { class: "c-state" }, "准备中");
    li.append(img, bar, state);
    $("c-uploads").appendChild(li);
    let prepared;
    try { prepared = await prepare(file); } catch (e) {
      state.textContent = e.message; state.className = "c-state bad"; bar.remove(); return false;
    }
    if (prepared.thumb) img.src = prepared.thumb; else img.remove();
    if (prepared.blob.size > MAX_BYTES) {
      state.textContent = "照片过大（上限 5 MB）"; state.className = "c-state bad"; bar.remove(); return false;
    }
    const key = uid(); // the same key on every retry: the photo is stored once
    for (let attempt = 0; attempt <= RETRIES; attempt++) {
      state.textContent = attempt ? `重试第${attempt}次` : "上传中";
      const r = await send(prepared.blob, key, (p) => { bar.value = p; });
      if (r.status === 200 || r.status === 201) {
        bar.value = 1; bar.remove();
        state.textContent = "已上传"; state.className = "c-state ok";
        return true;
      }
      if (r.status !== 0 && r.status < 500) {
        state.textContent = message(r.status, r.data); state.className = "c-state bad"; bar.remove();
        return false;
      }
      await sleep(1000 * 2 ** attempt);
    }
    state.textContent = "网络不稳定，上传失败，请稍后重新选择这张照片"; state.className = "c-state bad";
    return false;
  }

  async function onPhotos(ev) {
    const files = Array.from(ev.target.files || []);
    ev.target.value = "";
    let done = 0;
    for (const f of files) if (await upload(f)) done++;
    if (done) {
      toast(`已补充 ${done} 张照片`);
      await refresh();
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
      { phone_last4: who.last4, rating: picked.value, comment: comment || null, action_id: uid() });
    $("c-rate-send").disabled = false;
    if (!r.ok) { err.textContent = r.error; return; }
    toast("感谢您的评价！");
    await refresh();
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("c-form").addEventListener("submit", onLookup);
    $("c-add-form").addEventListener("submit", onAdd);
    $("c-rate-form").addEventListener("submit", onRate);
    $("c-photo-camera").addEventListener("change", onPhotos);
    $("c-photo-pick").addEventListener("change", onPhotos);
    $("c-again").addEventListener("click", again);
    $("c-headline").setAttribute("tabindex", "-1");
    const t = (new URLSearchParams(location.search).get("t") || "").trim().toUpperCase();
    if (TICKET.test(t)) {
      $("c-ticket").value = t;
      $("c-last4").focus();
    } else {
      $("c-ticket").focus();
    }
  });
})();
