"""What a citizen adds to their own case from the citizen page: more text, or photos.

Each addition is a supplement (``services/tracker/supplements.py``): stored in
``complaint_supplements`` and applied to the case in the same transaction, so the handling
squad and the command centre see it where they see the WeChat supplements (the case's text
gets a 【补充】 paragraph, a photo becomes an attachment served by
``GET /cases/{ticket}/attachments/{index}``, the history a ``supplemented`` event).

Only an open case takes additions.  A retried request (its first answer lost on a bad
connection) adds nothing twice: a photo is found by its upload id or its bytes, a text by
being the same as one the citizen added within the last hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.core import images
from services.core.engine import Engine
from services.core.media import MediaStore
from services.core.workflow import OPEN
from services.tracker import supplements
from services.tracker.actions import ActionError
from services.tracker.models import Case
from services.tracker.supplements import Supplement

SOURCE = "citizen"
MAX_TEXT_CHARS = 1000
PHOTOS_PER_CASE = 9  # photos a citizen may add to one case
ADDITIONS_PER_CASE = 30  # supplements of any kind a citizen may add to one case
SAME_TEXT_WITHIN = timedelta(hours=1)
CLOSED = "工单已办结，不能再补充。如问题仍未解决，请在评价中选择“不满意”并说明情况，或重新反映"


class SupplementError(ActionError):
    """A refused citizen addition (HTTP status and a Chinese detail)."""


@dataclass(frozen=True)
class Addition:
    ticket_no: str
    actor: str
    now: datetime


def _open_case(s: Session, ticket_no: str, *, lock: bool = False) -> Case:
    q = select(Case).where(Case.ticket_no == ticket_no)
    # locked while writing: two retries of one upload must not both pass the duplicate check
    case = s.scalars(q.with_for_update() if lock else q).first()
    if case is None:  # checked by the caller already; gone meanwhile
        raise SupplementError(404, "工单号或手机号后四位不正确")
    if case.status not in OPEN:
        raise SupplementError(409, CLOSED)
    return case


def _mine(s: Session, case: Case) -> list[Supplement]:
    return list(s.scalars(select(Supplement).where(Supplement.complaint_id == case.complaint_id,
                                                   Supplement.actor.like("citizen:%"))).all())


def _photos(case: Case) -> list[tuple[int, dict[str, Any]]]:
    return [(i, a) for i, a in enumerate(case.attachments or [])
            if isinstance(a, dict) and a.get("source") == SOURCE and a.get("kind") == "image"]


def photo_count(case: Case) -> int:
    return len(_photos(case))


def add_text(sessions: sessionmaker[Session], engine: Engine, add: Addition, text: str) -> dict[str, Any]:
    """Add the citizen's text to the case (blocking: call from a thread)."""
    with sessions.begin() as s:
        case = _open_case(s, add.ticket_no, lock=True)
        mine = _mine(s, case)
        for row in mine:
            if row.data.get("text") == text and add.now - row.created_at < SAME_TEXT_WITHIN:
                return {"ticket_no": add.ticket_no, "added": "text", "replayed": True}
        if len(mine) >= ADDITIONS_PER_CASE:
            raise SupplementError(409, f"每个工单最多补充 {ADDITIONS_PER_CASE} 次，如有更多情况请拨打12319")
        supplements.add(s, complaint_id=case.complaint_id, ticket_no=case.ticket_no, actor=add.actor,
                        data={"text": text, "channel": "web"}, engine=engine)
    return {"ticket_no": add.ticket_no, "added": "text", "replayed": False}


def add_photo(sessions: sessionmaker[Session], store: MediaStore, add: Addition, content: bytes,
              upload_id: str) -> dict[str, Any]:
    """Store the photo and add it to the case (blocking: call from a thread)."""
    with sessions() as s:  # refuse before storing anything
        _open_case(s, add.ticket_no)
    try:
        info = images.sniff(content)
    except images.ImageRejected as exc:
        raise SupplementError(415, str(exc)) from exc
    sha = store.put(content)
    with sessions.begin() as s:
        case = _open_case(s, add.ticket_no, lock=True)
        photos = _photos(case)
        for _, att in photos:
            if att.get("upload_id") == upload_id or att.get("sha256") == sha:
                return {"ticket_no": add.ticket_no, "added": "photo", "stored": True, "photos": len(photos),
                        "replayed": True}
        if len(photos) >= PHOTOS_PER_CASE:
            raise SupplementError(409, f"每个工单最多补充 {PHOTOS_PER_CASE} 张照片")
        if len(_mine(s, case)) >= ADDITIONS_PER_CASE:
            raise SupplementError(409, f"每个工单最多补充 {ADDITIONS_PER_CASE} 次，如有更多情况请拨打12319")
        att = {"kind": "image", "source": SOURCE, "upload_id": upload_id, "sha256": sha, "size": len(content),
               "content_type": info.content_type, "width": info.width, "height": info.height,
               "fetched_at": add.now.isoformat()}
        supplements.add(s, complaint_id=case.complaint_id, ticket_no=case.ticket_no, actor=add.actor,
                        data={"attachments": [att], "channel": "web"}, engine=None)  # a photo brings no place
    return {"ticket_no": add.ticket_no, "added": "photo", "stored": True, "photos": len(photos) + 1,
            "replayed": False}

