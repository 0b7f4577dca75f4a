/* Accessibility of every page (loaded first, before the page's own scripts):
   - a region marked aria-busy="true" in the HTML stays busy until its first content arrives or the
     page's API calls have settled (a screen reader then reads it whole, not half-built);
   - Escape closes an open dialog (a modal one closes natively; one opened with show() does not) and
     cancels an inline action form. */
"use strict";

(() => {
  const busy = new Set();
  const settle = (node) => { node.setAttribute("aria-busy", "false"); busy.delete(node); };

  function watch() {
    for (const node of document.querySelectorAll('[aria-busy="true"]')) {
      busy.add(node);
      const seen = new MutationObserver(() => { seen.disconnect(); settle(node); });
      seen.observe(node, { childList: true, subtree: true, characterData: true });
    }
  }

  // the page's API calls in flight: once none has been for QUIET_MS (a page loads in steps: its names, then
  // its data), whatever is still busy has loaded empty
  const QUIET_MS = 400;
  const fetch0 = window.fetch.bind(window);
  let inflight = 0, quiet = null;
  const idle = () => { clearTimeout(quiet); quiet = setTimeout(() => { if (inflight === 0) [...busy].forEach(settle); }, QUIET_MS); };
  window.fetch = (...args) => {
    inflight += 1;
    clearTimeout(quiet);
    return fetch0(...args).finally(() => { inflight -= 1; if (inflight === 0) idle(); });
  };
  window.addEventListener("load", () => { if (inflight === 0) idle(); });

  /** Escape in an inline action form (a squad's 退单 / 处置反馈 ...) cancels it, and the focus goes back to
      the button that opened it. */
  function cancelForm(form) {
    const cancel = [...form.querySelectorAll("button[type=button]")].find((b) => b.textContent.trim() === "取消");
    if (!cancel) return false;
    const panel = form.parentElement, card = form.closest("article, section, li") || document.body;
    const kind = panel && panel.dataset.kind;
    cancel.click();
    const now = (card.id && document.getElementById(card.id)) || card;  // the card may have been drawn anew
    const opener = (kind && now.querySelector(`button[data-action="${CSS.escape(kind)}"]`)) || now.querySelector("button");
    if (opener) opener.focus();
    return true;
  }

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    const form = document.activeElement && document.activeElement.closest("form.action-form");
    if (form && !form.closest("dialog") && cancelForm(form)) { e.preventDefault(); return; }
    const open = [...document.querySelectorAll("dialog[open]")].pop();
    if (open) { e.preventDefault(); open.close(); }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
