"""Web pages of the tracker: operator console, squad queue, command-centre dashboard, login.

Everything the pages need is served here: the HTML shells, the static JS/CSS
(no CDN, no build step) and the page-side API endpoints (suggest while typing,
link a call to an open case, the live feed as server-sent events, names).

Wire into the app with::

    app.include_router(pages.router)
    app.mount("/static", pages.static_files(), name="static")
"""

from __future__ import annotations

from fastapi import APIRouter

from services.tracker.pages import citizen, feed, link, meta, screens, suggest, wall
from services.tracker.pages.access import STATIC_DIR
from services.tracker.pages.delivery import CachedStaticFiles

router = APIRouter()
for _module in (screens, suggest, link, feed, meta, wall, citizen):
    router.include_router(_module.router)


def static_files() -> CachedStaticFiles:
    """Cache headers by URL version, gzip for text assets (services/tracker/pages/delivery.py)."""
    return CachedStaticFiles(directory=STATIC_DIR)


__all__ = ["router", "static_files"]
