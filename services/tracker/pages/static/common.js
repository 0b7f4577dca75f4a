/* Shared helpers of the pages: DOM building (textContent only), API calls, time, live feed. */
"use strict";

const C = (() => {
  const TZ = "Asia/Shanghai";

  /** Build an element; strings become text nodes (never parsed as HTML). */
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else if (k === "dataset") Object.assign(e.dataset, v);
      else if (k.startsWith("on") && typeof v === "function") e.addEventListener(k.slice(2), v);
      else e.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }
  function $(id) { return document.getElementById(id); }

  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  function detailText(data, status) {
    const d = data && data.detail;
    if (typeof d === "string") return d;
    if (Array.isArray(d)) return d.map((e) => `${(e.loc || []).slice(-1)[0] || ""}：${e.msg}`).join("；");
    return `请求失败（${status}）`;
  }

  async function api(method, path, body, headers) {
    const opts = { method, credentials: "same-origin", headers: { Accept: "application/json", ...(headers || {}) } };
    if (body !== undefined) {
      opts.headers["Content-Type"] = "application/json";
      opts.body = JSON.stringify(body);
    }
    let r;
    try { r = await fetch(path, opts); } catch (e) { throw new ApiError(0, "网络连接失败，请稍后重试"); }
    let data = null;
    try { data = await r.json(); } catch (e) { data = null; }
    if (r.status === 401) {
      location.href = "/login?next=" + encodeURIComponent(location.pathname);
      throw new ApiError(401, "登录已失效");
    }
    if (!r.ok) throw new ApiError(r.status, detailText(data, r.status));
    return data;
  }

  let metaPromise = null;
  function meta() {
    if (!metaPromise) {
      metaPromise = api("GET", "/api/v1/meta").then((m) => {
        m.cat = Object.fromEntries(m.categories.map((c) => [c.code, c]));
        m.town = Object.fromEntries(m.territories.map((t) => [t.code, t.name]));
        m.unit = Object.fromEntries(m.units.map((u) => [u.id, u.name]));
        return m;
      });
    }
    return metaPromise;
  }

  function toast(message, kind) {
    const t = $("toast");
    if (!t) return;
    t.textContent = message;
    t.className = "show " + (kind || "info");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = ""; }, 4000);
  }

  const fmt = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hour12: false });
  const fmtClock = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false });
  const fmtDay = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });

  function time(iso) { return iso ? fmt.format(new Date(iso)) : "—"; }
  function clock(iso) { return fmtClock.format(iso ? new Date(iso) : new Date()); }
  /** The city's calendar date (YYYY-MM-DD), `daysBack` days ago. */
  function day(daysBack) { return fmtDay.format(new Date(Date.now() - (daysBack || 0) * 86400000)); }

  function duration(ms) {
    const s = Math.floor(Math.abs(ms) / 1000);
    const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
    if (d > 0) return `${d}天${h}时`;
    if (h > 0) return `${h}时${String(m).padStart(2, "0")}分`;
    return `${m}分${String(s % 60).padStart(2, "0")}秒`;
  }

  /** Countdown to a deadline: text and a class (ok / warn when 80% of the time is used / late). */
  function countdown(deadlineIso, startIso) {
    if (!deadlineIso) return { text: "无时限", cls: "ok" };
    const now = Date.now(), end = new Date(deadlineIso).getTime();
    if (end <= now) return { text: "已超时 " + duration(now - end), cls: "late" };
    const start = startIso ? new Date(startIso).getTime() : now;
    const used = end > start ? (now - start) / (end - start) : 1;
    return { text: "剩余 " + duration(end - now), cls: used >= 0.8 ? "warn" : "ok" };
  }

  /** Links to the stored copies of a case's WeChat photos and voice messages (null when it has none). */
  const KIND = { image: "照片", voice: "语音" };
  const MEDIA_STATE = { pending: "下载中", expired: "已过期", too_large: "文件过大" };
  function attachments(c) {
    const items = (c.attachments || []).filter((a) => KIND[a.kind]);
    if (!items.length) return null;
    return el("span", { class: "attachments" }, items.map((a, i) => {
      const label = `${KIND[a.kind]}${i + 1}`;
      return a.stored_url
        ? el("a", { href: a.stored_url, target: "_blank", rel: "noopener", class: "attachment" }, label)
        : el("span", { class: "attachment muted" }, `${label}（${MEDIA_STATE[a.media_state] || "未保存"}）`);
    }));
  }

  function pct(x) { return x === null || x === undefined ? "—" : (x * 100).toFixed(1) + "%"; }

  function uid() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function debounce(fn, ms) {
    let t = null;
    return (...args) => { clearTimeout(t); t = setTimeout(() => fn(...args), ms); };
  }

  /** Subscribe to the live feed (server-sent events); reconnects by itself. */
  function live(onChange) {
    const badge = $("live");
    const es = new EventSource("/api/v1/feed");
    es.addEventListener("change", (e) => {
      try { onChange(JSON.parse(e.data)); } catch (err) { console.error(err); }
    });
    es.onopen = () => { if (badge) badge.className = "live on"; };
    es.onerror = () => { if (badge) badge.className = "live off"; };
    return es;
  }

  function badge(text, cls) { return el("span", { class: "badge " + (cls || "") }, text); }

  return { el, clear, $, api, ApiError, meta, toast, time, clock, day, duration, countdown, pct, uid, debounce,
    live, badge, attachments };
})();
