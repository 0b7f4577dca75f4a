"""POST /cases/{ticket}/photos: the squad uploads a site photo to a case of its unit.

The body is the image itself (any Content-Type; the bytes decide: JPEG, PNG or WebP).
``Idempotency-Key`` names the photo: a retry with the same key answers with the stored
attachment (200, ``replayed``) instead of adding it twice.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response

from services.tracker.auth import Principal, Role, require
from services.tracker.photos import PhotoError, Upload, add_photo
from services.tracker.responses import PhotoStored
from services.tracker.routes_cases import TICKET

router = APIRouter(prefix="/api/v1", tags=["cases"])
SQUAD = require(Role.SQUAD)
PATH = re.compile(r"^/api/v1/cases/[A-Z]{1,6}\d{14}/photos$")  # the request guard's larger body limit
UploadKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200, pattern=r"^[\x21-\x7e]+$")]


def too_large(limit: int) -> str:
    return f"照片过大（上限 {limit // 2**20} MB），请压缩后重试"


async def _body(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, too_large(limit))
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/cases/{ticket_no}/photos", summary="上传现场照片（中队）", status_code=201,
             responses={200: {"description": "重复上传：返回已保存的照片", "model": PhotoStored}, 413: {"description": "照片过大"},
                        415: {"description": "不是可识别的图片"}})
async def upload_photo(
    request: Request,
    response: Response,
    ticket_no: Annotated[str, TICKET],
    principal: Annotated[Principal, Depends(SQUAD)],
    key: UploadKey = None,
) -> PhotoStored:
    settings = request.app.state.settings
    content = await _body(request, settings.photo_max_bytes)
    if not content:
        raise HTTPException(400, "没有收到照片内容，请重新选择照片")
    up = Upload(ticket_no=ticket_no, upload_id=key or uuid.uuid4().hex, content=content, principal=principal,
                now=datetime.now(UTC))
    try:
        out = await asyncio.to_thread(add_photo, request.app.state.sessions, request.app.state.media, up,
                                      settings.photos_per_case)
    except PhotoError as exc:
        raise HTTPException(exc.status_code, exc.detail) from exc
    response.status_code = 200 if out["replayed"] else 201
    return PhotoStored(**out)
