"""The stored copy of a case's photo or voice message, for those who may see the case."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from services.core import media
from services.core.media import MediaState, MediaStore
from services.tracker.auth import Principal
from services.tracker.routes_cases import ANY_STAFF, TICKET, db, load_case

router = APIRouter(prefix="/api/v1", tags=["cases"])
NOT_STORED = {
    MediaState.PENDING: "附件尚未保存，正在从微信下载，请稍后再试",
    MediaState.EXPIRED: "附件已过期：微信只保留3天，未能及时下载",
    MediaState.TOO_LARGE: "附件超过大小限制，未保存",
    MediaState.NONE: "该附件没有可下载的文件（如链接）",
}


class AttachmentMissing(BaseModel):
    detail: str
    media_state: str = Field(description="missing / pending / expired / too_large / none")


def _not_found(state: str, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail, "media_state": state}, status_code=404)


@router.get("/cases/{ticket_no}/attachments/{index}", response_model=None, response_class=Response,
            responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}, "audio/amr": {},
                                         "application/octet-stream": {}}, "description": "文件内容"},
                       404: {"model": AttachmentMissing, "description": "没有该附件，或附件尚未保存"}})
def get_attachment(
    request: Request,
    ticket_no: Annotated[str, TICKET],
    index: Annotated[int, Path(ge=0, le=999, description="附件序号（从0开始）")],
    principal: Annotated[Principal, Depends(ANY_STAFF)],
    session: Annotated[Session, Depends(db)],
) -> Response:
    case = load_case(session, ticket_no, principal)  # 404 / 403 exactly as for viewing the case
    items = case.attachments or []
    if index >= len(items) or not isinstance(items[index], dict):
        return _not_found("missing", f"工单 {ticket_no} 没有第 {index} 个附件")
    att = items[index]
    state = media.state_of(att)
    if state != MediaState.STORED:
        return _not_found(state.value, NOT_STORED.get(state, "附件尚未保存"))
    store: MediaStore = request.app.state.media
    content = store.get(str(att["sha256"]))
    if content is None:
        return _not_found("missing", "附件文件不在存储中，请联系管理员")
    content_type, inline = media.served_type(att.get("content_type"))
    disposition = "inline" if inline else "attachment"
    return Response(content, media_type=content_type, headers={
        "Content-Disposition": f'{disposition}; filename="{ticket_no}-{index}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
        "ETag": f'"{att["sha256"]}"',
    })
