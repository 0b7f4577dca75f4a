"""A citizen's photo and voice message are copied from WeChat by the tracker and served by the API,
through the real stack (API, router, tracker processes) and a local server that answers like WeChat."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.test_wechat_notifications import SECRET, file_complaint, push, until
from tests.integration.wechat.fake_wechat_api import FakeWeChatApi
from tests.integration.wechat.wechat_harness import AES_KEY, APPID, TOKEN, image_xml, voice_xml

JPEG = b"\xff\xd8\xff\xe0" + os.urandom(20_000) + b"\xff\xd9"
AMR = b"#!AMR\n" + os.urandom(3000)


async def test_photo_and_voice_are_kept_and_served(stack_factory: Any, sqlite_url: str, tmp_path: Path) -> None:
    api = FakeWeChatApi(appid=APPID, secret=SECRET)
    base = await api.start()
    tag = str(int(time.time() * 1000))
    photo, voice = f"photo-{tag}", f"voice-{tag}"
    api.add_media(photo, JPEG, "image/jpeg")
    api.add_media(voice, AMR, "audio/amr")
    try:
        stack = stack_factory(sqlite_url, wechat_token=TOKEN, wechat_encoding_aes_key=AES_KEY, wechat_appid=APPID,
                              wechat_secret=SECRET, wechat_api_base=base, media_dir=str(tmp_path / "media"),
                              media_fetch_every_s="0.5")
        openid = f"oMedia{tag}"
        async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=10) as client:
            ticket = await file_complaint(client, openid)
            assert ticket in (await push(client, image_xml(photo, openid=openid)))["Content"]
            assert ticket in (await push(client, voice_xml("", media=voice, openid=openid)))["Content"]

            case: dict[str, Any] = {}

            async def both_stored() -> bool:
                nonlocal case
                r = await client.get(f"/api/v1/cases/{ticket}")
                case = r.json() if r.status_code == 200 else {}
                media = [a for a in case.get("attachments", []) if a["kind"] in ("image", "voice")]
                return len(media) == 2 and all(a["stored_url"] for a in media)

            await until(both_stored)
            by_kind = {a["kind"]: a for a in case["attachments"]}
            assert by_kind["image"]["sha256"] == hashlib.sha256(JPEG).hexdigest()
            assert by_kind["voice"]["sha256"] == hashlib.sha256(AMR).hexdigest()
            got = await client.get(by_kind["image"]["stored_url"])
            assert got.status_code == 200 and got.content == JPEG and got.headers["content-type"] == "image/jpeg"
            got = await client.get(by_kind["voice"]["stored_url"])
            assert got.status_code == 200 and got.content == AMR and got.headers["content-type"] == "audio/amr"
            assert sorted(api.media_requests) == sorted([photo, voice])  # each downloaded once
            assert (tmp_path / "media" / by_kind["image"]["sha256"][:2] / by_kind["image"]["sha256"]).read_bytes() == JPEG
    finally:
        await api.stop()
