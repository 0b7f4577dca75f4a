/* Site photos: resized in the browser, kept in IndexedDB until the server has confirmed them, uploaded
   one at a time with progress, retried with back-off on a bad connection, resumed after a reload.
   Reusable by any page that loads common.js first (squad page, citizen page):

     const q = Photos.queue("squad");            // one persistent queue per page kind
     q.resume();                                  // uploads what a previous visit left behind
     node.append(Photos.picker(q, key, url));     // 拍照 / 相册 buttons + live progress list
     await q.settled(key);                        // {done: [...], failed: [...]} once nothing is pending
     Photos.thumbs(caseJson);                     // thumbnails of a case's stored photos

   Every upload is a raw-body POST of a JPEG with an Idempotency-Key naming the photo, so a retry of a
   photo the server got (but whose answer was lost) is stored once. */
"use strict";

const Photos = (() => {
  const { el, clear } = C;
  const MAX_SIDE = 1600, QUALITY = 0.8, THUMB_SIDE = 192, PER_PICK = 9;
  const RETRY_BASE_MS = 1000, RETRY_MAX_MS = 60000, STALL_MS = 45000;
  const DB_NAME = "c12319-photos", STORE = "pending";

  // --- resize ---------------------------------------------------------------------------------------
  function readAsDataUrl(file) {
    return new Promise((ok, bad) => {
      const r = new FileReader();
      r.onload = () => ok(r.result);
      r.onerror = () => bad(r.error);
      r.readAsDataURL(file);
    });
  }

  async function decode(file) {
    if (window.createImageBitmap) {
      try { return await createImageBitmap(file, { imageOrientation: "from-image" }); } catch (e) { /* below */ }
    }
    const img = new Image();  // the page's CSP allows data: images (not blob:)
    img.src = await readAsDataUrl(file);
    await img.decode();
    return img;
  }

  function draw(src, maxSide) {
    const w = src.width, h = src.height;
    const scale = Math.min(1, maxSide / Math.max(w, h));
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(w * scale));
    canvas.height = Math.max(1, Math.round(h * scale));
    const ctx = canvas.getContext("2d");
    ctx.fillStyle = "#fff";  // a transparent PNG becomes a JPEG on white, not on black
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.imageSmoothingQuality = "high";
    ctx.drawImage(src, 0, 0, canvas.width, canvas.height);
    return canvas;
  }

  function toJpeg(canvas, quality) {
    return new Promise((ok, bad) => canvas.toBlob((b) => (b ? ok(b) : bad(new Error("图片压缩失败"))),
      "image/jpeg", quality));
  }

  /** A photo file -> {blob (JPEG, longest side <= maxSide), width, height, thumb (data: URL)}. */
  async function resize(file, opts) {
    const o = { maxSide: MAX_SIDE, quality: QUALITY, ...(opts || {}) };
    let src;
    try { src = await decode(file); } catch (e) { throw new Error(`无法读取图片「${file.name || ""}」，请选择 JPEG 或 PNG 照片`); }
    const canvas = draw(src, o.maxSide);
    if (src.close) src.close();
    const blob = await toJpeg(canvas, o.quality);
    const thumb = draw(canvas, THUMB_SIDE).toDataURL("image/jpeg", 0.7);
    return { blob, width: canvas.width, height: canvas.height, thumb };
  }

  // --- IndexedDB (the photos wait there until the server has them) ----------------------------------
  let dbPromise = null;
  function db() {
    if (!dbPromise) {
      dbPromise = new Promise((ok, bad) => {
        if (!window.indexedDB) { bad(new Error("no IndexedDB")); return; }
        const r = indexedDB.open(DB_NAME, 1);
        r.onupgradeneeded = () => r.result.createObjectStore(STORE, { keyPath: "id" });
        r.onsuccess = () => ok(r.result);
        r.onerror = () => bad(r.error);
      });
    }
    return dbPromise;
  }

  async function store(mode, fn) {
    const d = await db();
    return new Promise((ok, bad) => {
      const t = d.transaction(STORE, mode);
      const req = fn(t.objectStore(STORE));
      t.oncomplete = () => ok(req ? req.result : undefined);
      t.onerror = () => bad(t.error);
      t.onabort = () => bad(t.error);
    });
  }

  const saved = (item) => ({ id: item.id, scope: item.scope, key: item.key, url: item.url, blob: item.blob,
    thumb: item.thumb, width: item.width, height: item.height, created: item.created });
  const persist = (item) => store("readwrite", (s) => s.put(saved(item)));
  const unpersist = (id) => store("readwrite", (s) => s.delete(id));
  const persisted = () => store("readonly", (s) => s.getAll());

  // --- one upload attempt ---------------------------------------------------------------------------
  function failure(status, data) {
    const d = data && data.detail;
    const retry = status === 0 || status === 408 || status === 429 || status >= 500;
    let message = typeof d === "string" ? d : (retry ? "网络不畅，照片未送达" : `上传失败（${status}）`);
    if (status === 401) message = "登录已失效，请重新登录，照片会继续上传";
    return { status, message, retry };
  }

  function send(item, onProgress) {
    return new Promise((ok, bad) => {
      const x = new XMLHttpRequest();
      let stall = null;
      const arm = () => { clearTimeout(stall); stall = setTimeout(() => x.abort(), STALL_MS); };
      x.open("POST", item.url);
      x.setRequestHeader("Content-Type", item.blob.type || "image/jpeg");
      x.setRequestHeader("Idempotency-Key", item.id);
      x.setRequestHeader("Accept", "application/json");
      x.upload.onprogress = (e) => { arm(); if (e.lengthComputable && e.total) onProgress(e.loaded / e.total); };
      x.onload = () => {
        clearTimeout(stall);
        let data = null;
        try { data = JSON.parse(x.responseText); } catch (e) { data = null; }
        if (x.status >= 200 && x.status < 300 && data && (data.stored_url || data.stored === true)) ok(data);
        else bad(failure(x.status === 200 ? 0 : x.status, data));
      };
      x.onerror = x.onabort = x.ontimeout = () => { clearTimeout(stall); bad(failure(0, null)); };
      arm();
      x.send(item.blob);
    });
  }

  // --- the queue ------------------------------------------------------------------------------------
  const queues = {};

  /** The persistent upload queue of one kind of page (items keep the scope they were made in). */
  function queue(scope) {
    if (queues[scope]) return queues[scope];
    const items = new Map();  // id -> item (in creation order)
    const listeners = new Set();
    let running = false, wake = null, durable = true;

    const emit = (item) => { for (const fn of listeners) fn(item); };
    const of = (key) => [...items.values()].filter((i) => i.key === key);
    const open = (i) => i.state === "waiting" || i.state === "uploading" || i.state === "retrying";

    function sleep(ms) {
      return new Promise((ok) => {
        const t = setTimeout(done, ms);
        function done() { clearTimeout(t); window.removeEventListener("online", done); wake = null; ok(); }
        wake = done;
        window.addEventListener("online", done);  // the connection is back: try at once
      });
    }

    async function attempt(item) {
      item.state = "uploading"; item.progress = 0; item.attempts += 1; emit(item);
      try {
        item.result = await send(item, (p) => { item.progress = p; emit(item); });
        item.state = "done"; item.progress = 1; item.error = null; item.blob = null;
        if (durable) await unpersist(item.id).catch(() => {});
      } catch (f) {
        item.error = f.message || String(f);
        if (!f.retry) { item.state = "failed"; item.status = f.status; return; }
        item.state = "retrying";
        const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (item.attempts - 1)) * (0.8 + Math.random() * 0.4);
        item.nextAt = Date.now() + delay;
        emit(item);
        await sleep(delay);
        item.state = "waiting";
      } finally { emit(item); }
    }

    async function pump() {
      if (running) return;
      running = true;
      try {
        for (;;) {
          const next = [...items.values()].find((i) => i.state === "waiting" || i.state === "retrying");
          if (!next) break;
          await attempt(next);
        }
      } finally { running = false; }
    }

    const q = {
      scope,
      get durable() { return durable; },
      /** Resize and queue the chosen files for `key` (e.g. a ticket number), to be POSTed to `url`. */
      async add(key, url, files) {
        const added = [];
        for (const file of Array.from(files)) {
          const item = { id: C.uid(), scope, key, url, created: Date.now(), state: "resizing", progress: 0,
            attempts: 0, error: null, name: file.name };
          items.set(item.id, item); emit(item); added.push(item);
          try {
            Object.assign(item, await resize(file));
            try { await persist(item); } catch (e) { durable = false; }
            item.state = "waiting";
          } catch (e) { item.state = "failed"; item.error = e.message; }
          emit(item);
          pump();
        }
        return added;
      },
      /** Upload again what an earlier visit (or a closed tab) left in IndexedDB. */
      async resume() {
        let rows = [];
        try { rows = await persisted(); } catch (e) { durable = false; return; }
        for (const r of rows.sort((a, b) => a.created - b.created)) {
          if (r.scope !== scope || items.has(r.id)) continue;
          items.set(r.id, { ...r, state: "waiting", progress: 0, attempts: 0, error: null, resumed: true });
          emit(items.get(r.id));
        }
        pump();
      },
      list: of,
      /** The keys that have photos in the queue (e.g. tickets no longer on the page). */
      keys: () => [...new Set([...items.values()].map((i) => i.key))],
      busy: (key) => of(key).some(open),
      retry(id) {
        const i = items.get(id);
        if (i && i.state === "failed" && i.blob) { i.state = "waiting"; i.attempts = 0; emit(i); pump(); }
        else if (wake) wake();
      },
      async remove(id) {
        const i = items.get(id);
        if (!i || i.state === "uploading") return;
        items.delete(id); await unpersist(id).catch(() => {}); emit(i);
      },
      /** Forget the finished photos of `key` (after they were handed over, e.g. with the feedback). */
      forget(key) { for (const i of of(key)) if (i.state === "done") { items.delete(i.id); emit(i); } },
      /** Resolves once nothing of `key` is waiting or uploading: {done, failed}. */
      settled(key) {
        return new Promise((ok) => {
          const check = () => {
            if (of(key).some((i) => open(i) || i.state === "resizing")) return false;
            listeners.delete(check);
            ok({ done: of(key).filter((i) => i.state === "done"), failed: of(key).filter((i) => i.state === "failed") });
            return true;
          };
          if (!check()) listeners.add(check);
        });
      },
      on(fn) { listeners.add(fn); return () => listeners.delete(fn); },
    };
    queues[scope] = q;
    return q;
  }

  // --- widgets --------------------------------------------------------------------------------------
  function stateText(i) {
    switch (i.state) {
      case "resizing": return "正在压缩…";
      case "waiting": return i.resumed ? "等待继续上传" : "等待上传";
      case "uploading": return `上传中 ${Math.round((i.progress || 0) * 100)}%`;
      case "retrying": return `${i.error || "网络不畅"}，${Math.max(1, Math.round((i.nextAt - Date.now()) / 1000))} 秒后自动重试（已试 ${i.attempts} 次）`;
      case "done": return "已上传";
      default: return "上传失败：" + (i.error || "");
    }
  }

  function row(q, i) {
    const bar = el("progress", { max: 100, value: Math.round((i.progress || 0) * 100), "aria-label": "上传进度" });
    const img = (i.result && i.result.stored_url) || i.thumb;
    return el("li", { class: "photo st-" + i.state, dataset: { id: i.id, state: i.state } },
      img ? el("img", { src: img, alt: "照片", width: 64, height: 64 }) : el("span", { class: "ph" }),
      el("span", { class: "photo-info" }, bar, el("span", { class: "photo-state small" }, stateText(i))),
      i.state === "failed" && i.blob ? el("button", { type: "button", class: "small", onclick: () => q.retry(i.id) }, "重试") : null,
      i.state === "retrying" ? el("button", { type: "button", class: "small", onclick: () => q.retry(i.id) }, "立即重试") : null,
      i.state !== "uploading" && i.state !== "done"
        ? el("button", { type: "button", class: "small danger", onclick: () => q.remove(i.id) }, "删除") : null);
  }

  /** The live list (progress, retry countdown, 重试 / 删除) of the photos of `key` in queue `q`.
      opts.known: stored_urls already shown elsewhere (a finished photo is then left out of the list). */
  function list(q, key, opts) {
    const known = (opts && opts.known) || new Set();
    const ul = el("ul", { class: "photo-list", "aria-live": "polite", dataset: { key } });
    const render = () => {
      clear(ul);
      for (const i of q.list(key)) {
        if (!(i.state === "done" && i.result && known.has(i.result.stored_url))) ul.append(row(q, i));
      }
      ul.classList.toggle("hidden", !ul.childNodes.length);
    };
    let mounted = false;
    const gone = () => { if (ul.isConnected) mounted = true; return mounted && !ul.isConnected; };
    const off = q.on((item) => {
      if (gone()) { off(); clearInterval(timer); return; }
      if (!item || item.key === key) render();
    });
    const timer = setInterval(() => {  // the retry countdown; stops once the list left the page
      if (gone()) { off(); clearInterval(timer); return; }
      if (q.list(key).some((i) => i.state === "retrying")) render();
    }, 1000);
    render();
    return ul;
  }

  /** 拍照 / 从相册选择 buttons and the live list of the photos of `key` being uploaded to `url`. */
  function picker(q, key, url, opts) {
    const note = el("p", { class: "photo-note small muted hidden" });
    const input = (capture, label, cls) => {
      const inp = el("input", { type: "file", accept: "image/*", multiple: true, capture: capture || null,
        class: "visually-hidden", dataset: { photoInput: capture ? "camera" : "gallery" } });
      inp.addEventListener("change", () => {
        const files = Array.from(inp.files || []).slice(0, PER_PICK);
        if ((inp.files || []).length > PER_PICK) note.textContent = `一次最多选择 ${PER_PICK} 张，已取前 ${PER_PICK} 张`;
        note.classList.toggle("hidden", (inp.files || []).length <= PER_PICK);
        if (files.length) q.add(key, url, files);
        inp.value = "";
      });
      return el("label", { class: "button photo-add " + (cls || "") }, label, inp);
    };
    return el("div", { class: "photo-picker", dataset: { key } },
      el("div", { class: "buttons" }, input("environment", "拍照", "primary"), input(null, "从相册选择")), note,
      list(q, key, opts));
  }

  /** Thumbnails of a case's stored photos (null when it has none); those in its feedback are marked. */
  function thumbs(c) {
    const items = (c.attachments || []).filter((a) => a.kind === "image" && a.stored_url);
    if (!items.length) return null;
    const feedback = new Set(c.photos || []);
    return el("div", { class: "thumbs" }, items.map((a, n) => {
      const label = feedback.has(a.stored_url) ? "处置照片" : (a.source === "squad" ? "中队照片" : "市民照片");
      return el("a", { href: a.stored_url, target: "_blank", rel: "noopener", class: "thumb",
        title: `${label} ${n + 1}` + (a.uploaded_at ? " · " + C.time(a.uploaded_at) : "") },
      el("img", { src: a.stored_url, alt: `${label} ${n + 1}`, loading: "lazy", width: 96, height: 96 }),
      el("span", { class: "thumb-cap" }, label));
    }));
  }

  /** The case's attachments other than its stored photos (voice, links, photos still downloading). */
  function others(c) {
    return { ...c, attachments: (c.attachments || []).filter((a) => !(a.kind === "image" && a.stored_url)) };
  }

  return { resize, queue, picker, list, thumbs, others, MAX_SIDE, QUALITY };
})();
