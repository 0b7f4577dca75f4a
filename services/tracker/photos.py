"""Photos the squad takes on site: checked, stored once, recorded on the case's attachments.

An uploaded photo becomes an attachment of the case (``kind: image``, ``source: squad``) with
its stored copy (``sha256``...), served by ``GET /cases/{ticket}/attachments/{index}`` to every
role that may see the case.  The client names each photo with an upload id; a retried upload
(the first answer lost on a bad connection) finds its attachment and stores nothing again, and
the same bytes uploaded twice to a case are one attachment.  The attachment list is written
with a compare-and-set on the case's ``version`` (as the media fetcher does), so concurrent
uploads and actions never overwrite each other.

The resolve feedback (处置反馈) names its photos by their attachment path; ``check_refs``
refuses a path that is not a stored photo of the same case.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from services.core import images, media
from services.core.media import MediaStore
from services.core.workflow import WORKING, CaseStatus
from services.tracker.actions import ActionError
from services.tracker.auth import Principal
from services.tracker.models import Case, CaseEventRow
from services.tracker.transitions import status_name
from services.tracker.views import attachment_url

S = CaseStatus
# the squad may add photos while it works on the case and just after its feedback
PHOTO_STATUSES = frozenset({S.DISPATCHED, *WORKING, S.RESOLVED})
WRITE_ATTEMPTS = 8
ATTACHMENT_PATH = re.compile(r"^/api/v1/cases/(?P<ticket>[A-Z]{1,6}\d{14})/attachments/(?P<index>\d{1,3})$")


class PhotoError(ActionError):
    """A refused photo upload (HTTP status and a Chinese detail)."""


@dataclass(frozen=True)
class Upload:
    ticket_no: str
    upload_id: str
    content: bytes
    principal: Principal
    now: datetime


def _find(attachments: list[Any], upload_id: str, sha256: str) -> int | None:
    for i, att in enumerate(attachments):
        if isinstance(att, dict) and att.get("source") == "squad" and (
                att.get("upload_id") == upload_id or att.get("sha256") == sha256):
            return i
    return None


def _answer(ticket_no: str, index: int, att: dict[str, Any], replayed: bool) -> dict[str, Any]:
    return {"ticket_no": ticket_no, "index": index, "stored_url": attachment_url(ticket_no, index),
            "sha256": att.get("sha256"), "size": att.get("size"), "content_type": att.get("content_type"),
            "width": att.get("width"), "height": att.get("height"), "replayed": replayed}


def _authorize(case: Case | None, principal: Principal, ticket_no: str) -> Case:
    if case is None:
        raise PhotoError(404, f"工单 {ticket_no} 不存在（或尚未入库，请稍后再试）")
    if not principal.may_see_unit(case.unit):
        raise PhotoError(403, "该工单不属于本单位")
    return case


def add_photo(sessions: sessionmaker[Session], store: MediaStore, up: Upload, per_case: int) -> dict[str, Any]:
    """Store the photo and record it on the case (blocking: call from a thread)."""
    with sessions() as s:  # refuse before storing anything
        case = _authorize(s.scalars(select(Case).where(Case.ticket_no == up.ticket_no)).first(),
                          up.principal, up.ticket_no)
        if case.status not in PHOTO_STATUSES:
            raise PhotoError(409, f"工单当前状态（{status_name(case.status)}）不能再添加照片")
    try:
        info = images.sniff(up.content)
    except images.ImageRejected as exc:
        raise PhotoError(415, str(exc)) from exc
    sha = store.put(up.content)
    for _ in range(WRITE_ATTEMPTS):
        with sessions.begin() as s:
            case = _authorize(s.scalars(select(Case).where(Case.ticket_no == up.ticket_no)).first(),
                              up.principal, up.ticket_no)
            attachments = list(case.attachments or [])
            found = _find(attachments, up.upload_id, sha)
            if found is not None:
                return _answer(up.ticket_no, found, attachments[found], replayed=True)
            if sum(1 for a in attachments if isinstance(a, dict) and a.get("source") == "squad") >= per_case:
                raise PhotoError(409, f"每个工单最多上传 {per_case} 张照片")
            att = {"kind": "image", "source": "squad", "upload_id": up.upload_id, "sha256": sha,
                   "size": len(up.content), "content_type": info.content_type, "width": info.width,
                   "height": info.height, "uploaded_at": up.now.isoformat(), "uploaded_by": up.principal.actor}
            index = len(attachments)
            done = s.execute(update(Case).where(Case.complaint_id == case.complaint_id, Case.version == case.version)
                             .values(attachments=[*attachments, att], version=case.version + 1, updated_at=up.now)
                             .execution_options(synchronize_session=False))
            if getattr(done, "rowcount", 0) != 1:
                continue  # another writer got there first: read again
            s.add(CaseEventRow(event_id=f"photo_added-{uuid.uuid4().hex}", complaint_id=case.complaint_id,
                               type="photo_added", actor=up.principal.actor, at=up.now,
                               data={"index": index, "width": info.width, "height": info.height}))
            return _answer(up.ticket_no, index, att, replayed=False)
    raise PhotoError(409, "工单正被他人修改，请稍后重试")


def check_refs(case: Case, photos: list[str]) -> str | None:
    """Why the resolve feedback's photo paths are not this case's stored photos (None when they are)."""
    items = case.attachments or []
    for ref in photos:
        m = ATTACHMENT_PATH.match(ref)
        if m is None:
            continue  # an http(s) link, checked by the command's validator
        index = int(m["index"])
        if m["ticket"] != case.ticket_no:
            return f"照片不属于本工单：{ref}"
        att = items[index] if index < len(items) else None
        if not isinstance(att, dict) or att.get("kind") != "image" or media.state_of(att) != media.MediaState.STORED:
            return f"照片尚未上传完成或不存在：{ref}"
    return None
