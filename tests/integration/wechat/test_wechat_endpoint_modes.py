"""Round trips through the FastAPI endpoint with wechatpy and werobot as independent peers."""

from __future__ import annotations

import pytest
from wechat_harness import (
    MODES,
    PEERS,
    TOKEN,
    Harness,
    HarnessFactory,
    event_xml,
    image_xml,
    location_xml,
    make_push,
    open_reply,
    text_xml,
)
from werobot.utils import check_signature as werobot_check

from services.intake.wechat.conversation import WELCOME


async def test_handshake_known_answer(make_harness: HarnessFactory) -> None:
    h = make_harness(token="AAAAA")
    q = {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504",
         "nonce": "1514711492", "echostr": "7281633826437432145"}
    resp = await h.client.get("/wechat/callback", params=q)
    assert resp.status_code == 200 and resp.text == "7281633826437432145"
    assert resp.headers["content-type"].startswith("text/plain")
    assert werobot_check("AAAAA", q["timestamp"], q["nonce"], q["signature"])  # the peer agrees


@pytest.mark.parametrize(
    "q",
    [
        {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441697", "timestamp": "1714036504", "nonce": "1514711492", "echostr": "e"},
        {"timestamp": "1714036504", "nonce": "1514711492", "echostr": "e"},
        {"signature": "f464b24fc39322e44b38aa78f5edd27bd1441696", "timestamp": "1714036504", "echostr": "e"},
        {},
    ],
)
async def test_handshake_rejected(make_harness: HarnessFactory, q: dict[str, str]) -> None:
    h = make_harness(token="AAAAA")
    resp = await h.client.get("/wechat/callback", params=q)
    assert resp.status_code == 403


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("peer", PEERS)
async def test_text_round_trip(harness: Harness, mode: str, peer: str) -> None:
    resp = await harness.push(text_xml("如城街道海阳路路灯不亮", openid=f"o-{mode}-{peer}"), mode, peer)
    if mode == "plain":
        assert resp.headers["content-type"].startswith("application/xml")
        assert "<Encrypt>" not in resp.text
    else:
        assert "<Encrypt>" in resp.text and "<MsgSignature>" in resp.text
    reply = open_reply(resp, mode, peer)
    assert reply["ToUserName"] == f"o-{mode}-{peer}" and reply["FromUserName"] == "gh_rugao12319"
    assert reply["MsgType"] == "text"
    assert "工单号：RG00000001" in reply["Content"]
    c = harness.port.complaints["RG00000001"]
    assert c.text == "如城街道海阳路路灯不亮" and c.openid == f"o-{mode}-{peer}"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("peer", PEERS)
async def test_conversation_in_every_mode(harness: Harness, mode: str, peer: str) -> None:
    r1 = await harness.say(text_xml("垃圾堆放很久没人清理"), mode, peer)
    assert "RG00000001" in r1["Content"] and "具体地点" in r1["Content"]
    r2 = await harness.say(location_xml(), mode, peer)
    assert "RG00000001" in r2["Content"] and "兴业路" in r2["Content"]
    r3 = await harness.say(image_xml("m-77"), mode, peer)
    assert "RG00000001" in r3["Content"]
    c = harness.port.complaints["RG00000001"]
    assert c.location is not None and (c.location.lat, c.location.lon) == (32.3712, 120.5604)
    assert [a.media_id for a in c.attachments] == ["m-77"]
    assert harness.port.create_calls == 1


@pytest.mark.parametrize("mode", MODES)
async def test_subscribe_and_other_events(harness: Harness, mode: str) -> None:
    assert (await harness.say(event_xml("subscribe", "qrscene_5"), mode))["Content"] == WELCOME
    for ev in ("LOCATION", "unsubscribe", "CLICK", "VIEW"):
        resp = await harness.push(event_xml(ev, "k"), mode)
        assert resp.status_code == 200 and resp.text == "success"


async def test_compatible_mode_trusts_only_the_encrypted_part(harness: Harness) -> None:
    """In compatible mode the plaintext fields are not authenticated: the Encrypt part wins."""
    honest = text_xml("真实内容：乱倒建筑垃圾", openid="oReal")
    push = make_push(honest, "compat", ts=int(harness.clock()))
    forged = push.body.decode().replace("oReal", "oForged").replace("真实内容", "伪造内容")
    push.body = forged.encode()
    reply = open_reply(await harness.send(push), "compat")
    assert reply["ToUserName"] == "oReal"
    assert harness.port.complaints["RG00000001"].text == "真实内容：乱倒建筑垃圾"


async def test_token_unrelated_to_signature_of_other_account(make_harness: HarnessFactory) -> None:
    h = make_harness(token=TOKEN + "x")
    resp = await h.push(text_xml("x"), "plain")
    assert resp.status_code == 403
