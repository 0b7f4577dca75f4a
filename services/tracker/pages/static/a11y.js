/* Accessibility of every page (loaded first, before the page's own scripts):
   - a region marked aria-busy="true" in the HTML stays busy until its first content arrives or the
     page's first round of API calls has settled (a screen reader then reads it whole, not half-built);
   - Escape closes an open dialog (a modal one closes natively; one opened with show() does not). */
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

  // the page's API calls in flight: when the first round is over, whatever is still busy is loaded (empty)
  const fetch0 = window.fetch.bind(window);
  let inflight = 0, started = false;
  window.fetch = (...args) => {
    inflight += 1;
    started = true;
    return fetch0(...args).finally(() => {
      inflight -= 1;
      if (inflight === 0) setTimeout(() => { if (inflight === 0) [...busy].forEach(settle); }, 0);
    });
  };
  window.addEventListener("load", () => setTimeout(() => { if (!started) [...busy].forEach(settle); }, 0));

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    const open = [...document.querySelectorAll("dialog[open]")].pop();
    if (open) { e.preventDefault(); open.close(); }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch);
  else watch();
})();
