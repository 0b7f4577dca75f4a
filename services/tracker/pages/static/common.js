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

  const CJK = /[\u4e00-\u9fff]/;
  const STATUS_TEXT = { 400: "请求有误", 403: "无权执行此操作", 404: "未找到", 409: "操作冲突，请刷新后重试",
    413: "内容过大", 422: "填写的内容有误", 429: "操作过于频繁，请稍后再试" };
  /** A person's sentence for an API error: the Chinese `detail[..].msg` with the field's Chinese name, never JSON. */
  function detailText(data, status) {
    const fallback = STATUS_TEXT[status] || (status >= 500 ? `服务器暂时无法处理（${status}），请稍后重试` : `请求失败（${status}）`);
    const d = data && data.detail;
    if (typeof d === "string") return CJK.test(d) ? d : fallback;
    if (Array.isArray(d)) {
      const parts = d.map((e) => {
        const msg = e && typeof e.msg === "string" && CJK.test(e.msg) ? e.msg : "取值无效";
        const field = e && typeof e.field === "string" ? e.field.replace(/（[^）]*）$/, "") : "";
        return field && CJK.test(field) ? `${field}：${msg}` : msg;
      });
      return parts.length ? parts.join("；") : fallback;
    }
    if (data && typeof data.message === "string" && CJK.test(data.message)) return data.message;
    return fallback;
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
  let M = null;  // the loaded meta: what label() reads
  function meta() {
    if (!metaPromise) {
      metaPromise = api("GET", "/api/v1/meta").then((m) => {
        m.cat = Object.fromEntries(m.categories.map((c) => [c.code, c]));
        m.town = Object.fromEntries(m.territories.map((t) => [t.code, t.name]));
        m.unit = Object.fromEntries(m.units.map((u) => [u.id, u.name]));
        m.rule = Object.fromEntries((m.rules || []).map((r) => [r.label, r]));
        m.ruleByIndex = Object.fromEntries((m.rules || []).filter((r) => r.index).map((r) => [r.index, r]));
        M = m;
        return m;
      });
    }
    return metaPromise;
  }

  /* ---- Chinese labels for every code a page shows (GET /api/v1/meta, services/tracker/pages/labels.py) ---- */
  const FALLBACK = { category: "未分类", unit: "未指定单位", town: "未定位", status: "状态未知", event: "办理",
    alert: "告警", rule: "按派单规则", action: "操作" };
  const has = (o, k) => !!o && k !== null && k !== undefined && Object.prototype.hasOwnProperty.call(o, k);

  function ruleName(v) {
    if (has(M.rule, v)) return M.rule[v].name;
    const n = /^rule (\d+)\b/.exec(v);
    return n && has(M.ruleByIndex, n[1]) ? M.ruleByIndex[n[1]].name : FALLBACK.rule;
  }

  /** One term of a decision's evidence: kw:GAS_SAFETY -> 关键词：燃气安全, cue:night -> 线索：夜间, now: 正在/还在 -> 正在发生：正在/还在. */
  function evidenceName(v) {
    const kinds = M.evidence_kinds || {}, cues = M.cues || {};
    let m = /^(kw|cue|grp):([\w|]+)$/.exec(v);
    if (m) {
      const key = m[2].split("|")[0];
      const what = m[1] === "kw" ? (has(M.cat, key) ? M.cat[key].name : "类别关键词")
        : m[1] === "cue" ? (cues[key] || "线索") : ((M.groups || {})[key] || "类别组");
      return `${kinds[m[1]] || "依据"}：${what}`;
    }
    m = /^p=([\d.]+)$/.exec(v);
    if (m) return `${kinds.p || "紧急程度"}：${Math.round(Number(m[1]) * 100)}%`;
    m = /^(\w+): (.*)$/.exec(v);  // a cue group with the phrases it matched
    if (m && /^[a-z_]+$/.test(m[1])) return `${cues[m[1]] || "线索"}：${m[2]}`;
    return v;  // a character n-gram of the text itself: already Chinese
  }

  /** Who did it: the user's name (users table), else a Chinese fallback (系统, 12319热线, 市民（尾号1234）...). */
  function actorName(v) {
    const A = M.actor_names || {};
    if (!v) return A.system || "系统";
    const i = v.indexOf(":");
    const kind = i < 0 ? v : v.slice(0, i), rest = i < 0 ? "" : v.slice(i + 1);
    if (kind === "router") return A.router || "系统";
    if (kind === "channel") return (A.channels || {})[rest] || A.system || "系统";
    if (kind === "citizen") { const d = rest.replace(/^\*+/, ""); return (A.citizen || "市民") + (/^\d+$/.test(d) ? `（尾号${d}）` : ""); }
    const roles = A.roles || {};
    if (kind === "admin") return roles.admin || "管理员";
    if (has(roles, kind) && rest) {
      const at = rest.indexOf("@"), name = at < 0 ? rest : rest.slice(0, at), unit = at < 0 ? "" : rest.slice(at + 1);
      if (has(M.users, name)) return M.users[name].name;
      return has(M.unit, unit) ? M.unit[unit] + "队员" : roles[kind];
    }
    return A.system || "系统";
  }

  const REASONS = [
    [/^category unsure.*?([\d.]+)\)/, (m) => `类别把握不大（${Math.round(m[1] * 100)}%）`],
    [/^close second category (\w+)/, (m) => `第二类别接近（${label("category", m[1])}）`],
    [/^place unknown/, () => "未识别出镇街，将转指挥中心"],
    [/^place unsure.*?([\d.]+)\)/, (m) => `地点不确定（${Math.round(m[1] * 100)}%）`],
    [/^unit unsure.*?([\d.]+)/, (m) => `承办单位把握不大（${Math.round(m[1] * 100)}%）`],
    [/^bad input: \w+ \((.+)\)$/, (m) => m[1]],
  ];
  function reasonName(v) {
    for (const [re, fn] of REASONS) { const m = re.exec(v); if (m) return fn(m); }
    return CJK.test(v) ? v : "需人工确认";
  }

  const PLACE = [
    [/^[\w ]+: '(.+?)' -> (.+?)(?: \(.*\))?$/, (m) => `“${m[1]}” → ${m[2]}`],
    [/^[\w ]+: '(.+?)' is ambiguous \((.+)\)$/, (m) => `“${m[1]}” 有多处同名（${m[2]}）`],
    [/^territory set by operator/, () => "接线员指定镇街"],
    [/^location label points to (.+?); the text wins/, (m) => `定位指向${m[1]}，以内容为准`],
    [/^coordinates \(.*\) inside (.+)$/, (m) => `坐标位于${m[1]}`],
  ];
  function placeName(v) {
    for (const [re, fn] of PLACE) { const m = re.exec(v); if (m) return fn(m); }
    return CJK.test(v) && !/[a-z]{3,}/.test(v) ? v : "地点依据";
  }

  const ISO_RE = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?/g;
  const CODE_RE = /\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+\b|\b[A-Z]{4,}\b/g;
  /** A sentence the server wrote (an alert's message): its ISO times in Beijing time, its codes by name. */
  function textName(v) {
    return v.replace(ISO_RE, (iso) => time(iso))
      .replace(CODE_RE, (code) => has(M.cat, code) ? M.cat[code].name : has(M.unit, code) ? M.unit[code] : code);
  }

  /**
   * The one helper every page uses to show a code: label(kind, value) -> Chinese.
   * kinds: category, unit, town, status, event, alert, rule, evidence, actor, reason, place, text, action, done.
   */
  function label(kind, value) {
    if (value === null || value === undefined || value === "") return kind === "actor" ? actorName(value) : (FALLBACK[kind] || "—");
    const v = String(value);
    if (!M) return v;
    switch (kind) {
      case "category": return has(M.cat, v) ? M.cat[v].name : FALLBACK.category;
      case "unit": return has(M.unit, v) ? M.unit[v] : FALLBACK.unit;
      case "town": return has(M.town, v) ? M.town[v] : FALLBACK.town;
      case "status": return has(M.statuses, v) ? M.statuses[v] : FALLBACK.status;
      case "event": return has(M.events, v) ? M.events[v] : FALLBACK.event;
      case "alert": return has(M.alerts, v) ? M.alerts[v] : FALLBACK.alert;
      case "action": return has(M.actions, v) ? M.actions[v] : FALLBACK.action;
      case "done": return has(M.done, v) ? M.done[v] : "已完成";
      case "rule": return ruleName(v);
      case "evidence": return evidenceName(v);
      case "actor": return actorName(v);
      case "reason": return reasonName(v);
      case "place": return placeName(v);
      case "text": return textName(v);
      default: return v;
    }
  }

  /** The toast after an action: what was done, on which case (已签收：RG…). */
  function done(action, ticket) { toast(ticket ? `${label("done", action)}：${ticket}` : label("done", action), "ok"); }

  function toast(message, kind) {
    const t = $("toast");
    if (!t) return;
    t.textContent = message;
    t.className = "show " + (kind || "info");
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { t.className = ""; }, 4000);
  }

  // Beijing time whatever the browser's zone: parts of an explicit Asia/Shanghai formatter
  const fmtParts = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  const fmtClock = new Intl.DateTimeFormat("zh-CN", { timeZone: TZ, hour: "2-digit", minute: "2-digit",
    second: "2-digit", hour12: false });
  const fmtDay = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });

  /** Beijing time as YYYY-MM-DD HH:mm ("—" for none or an unreadable value). */
  function time(iso) {
    const d = iso ? new Date(iso) : null;
    if (!d || isNaN(d.getTime())) return "—";
    const p = Object.fromEntries(fmtParts.formatToParts(d).map((x) => [x.type, x.value]));
    return `${p.year}-${p.month}-${p.day} ${p.hour === "24" ? "00" : p.hour}:${p.minute}`;
  }

  /** Relative words for a recent past time (刚刚, 5分钟前, 2小时前); null when older than a day or in the future. */
  function relative(iso, now) {
    const ms = (now || Date.now()) - new Date(iso).getTime();
    if (isNaN(ms) || ms < -60000 || ms >= 86400000) return null;
    if (ms < 60000) return "刚刚";
    if (ms < 3600000) return `${Math.floor(ms / 60000)}分钟前`;
    return `${Math.floor(ms / 3600000)}小时前`;
  }

  /** A <time> element: relative when recent, the absolute Beijing time in its title; kept fresh by a ticker. */
  function when(iso) {
    if (!iso) return el("span", { class: "muted" }, "—");
    const abs = time(iso);
    return el("time", { class: "when", datetime: iso, title: abs }, relative(iso) || abs);
  }
  setInterval(() => {
    for (const t of document.querySelectorAll("time.when")) {
      const text = relative(t.getAttribute("datetime")) || t.title;
      if (t.textContent !== text) t.textContent = text;
    }
  }, 30000);
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
    live, badge, attachments, label, done, when, relative, detailText };
})();
