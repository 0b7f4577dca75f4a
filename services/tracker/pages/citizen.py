"""/citizen: the citizens' page (no login; also the target of the WeChat notifications' link).

A static shell: the browser code (static/citizen.js) asks the public API
(``/api/v1/public/...``, services/tracker/routes_citizen.py) with the ticket number and the
last four digits of the phone the citizen types in, and renders the answers with
``textContent`` only.  A ticket number in the link (``?t=``) is only pre-filled by the script.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.tracker.citizen_progress import PAGE
from services.tracker.pages.access import SECURITY_HEADERS
from services.tracker.pages.screens import _template, asset_version

router = APIRouter(include_in_schema=False)


@router.get(PAGE, response_class=HTMLResponse)
def citizen_page() -> HTMLResponse:
    body = _template("citizen.html").substitute(v=asset_version())
    return HTMLResponse(body, headers=SECURITY_HEADERS)
