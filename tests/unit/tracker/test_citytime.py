"""The HTTP edge speaks the city's time: UTC timestamps in bodies become the same instant at the city's offset."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import FastAPI
from fastapi.responses import PlainTextResponse, Response, StreamingResponse
from fastapi.testclient import TestClient

from services.tracker.citytime import CityTimeMiddleware, to_city_time

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_utc_values_become_the_same_instant_at_plus_eight() -> None:
    body = (b'{"received_at":"2026-11-26T00:30:00Z","resolve_by":"2026-11-26T04:30:00.123456+00:00",'
            b'"routed_at":null,"history":[{"at":"2026-11-25T16:00:00+00:00"}]}')
    out = to_city_time(body, SHANGHAI)
    assert out == (b'{"received_at":"2026-11-26T08:30:00+08:00","resolve_by":"2026-11-26T12:30:00.123456+08:00",'
                   b'"routed_at":null,"history":[{"at":"2026-11-26T00:00:00+08:00"}]}')
    for before, after in (("2026-11-26T00:30:00Z", "2026-11-26T08:30:00+08:00"),
                          ("2026-11-25T16:00:00+00:00", "2026-11-26T00:00:00+08:00")):
        assert datetime.fromisoformat(before) == datetime.fromisoformat(after)


def test_ids_free_text_and_other_offsets_are_left_alone() -> None:
    body = ('{"alert_id":"accept_overdue:RG20261126000001:2026-11-26T00:30:00Z",'
            '"text":"从 2026-11-26T00:30:00Z 起一直在响","given":"2026-11-26T08:30:00+08:00",'
            '"day":"2026-11-26","quoted":"他说\\"2026-11-26T00:30:00Z\\""}').encode()
    assert to_city_time(body, SHANGHAI) == body


def test_xml_text_is_rewritten_too() -> None:
    xml = b"<request><requested_datetime>2026-11-26T00:30:00+00:00</requested_datetime></request>"
    assert to_city_time(xml, SHANGHAI) == b"<request><requested_datetime>2026-11-26T08:30:00+08:00</requested_datetime></request>"


def test_another_city_gets_its_own_offset() -> None:
    # a city.yaml with `timezone: Asia/Urumqi` (UTC+6): the same code, another offset
    assert to_city_time(b'"2026-11-26T00:30:00Z"', ZoneInfo("Asia/Urumqi")) == b'"2026-11-26T06:30:00+06:00"'


def app() -> FastAPI:
    a = FastAPI()

    @a.get("/json")
    def as_json() -> dict[str, str]:
        return {"at": "2026-11-26T00:30:00Z"}

    @a.get("/text")
    def as_text() -> Response:
        return PlainTextResponse('"2026-11-26T00:30:00Z"')

    @a.get("/events")
    def events() -> StreamingResponse:
        def chunks() -> list[bytes]:
            return [b'data: {"at":"2026-11-26T00:30:00Z"}\n\n', b'data: {"at":"2026-11-26T01:00:00+00:00"}\n\n']
        return StreamingResponse(iter(chunks()), media_type="text/event-stream")

    a.add_middleware(CityTimeMiddleware, tz=SHANGHAI)
    return a


def test_the_middleware_rewrites_json_and_event_streams_with_a_correct_length() -> None:
    with TestClient(app()) as client:
        r = client.get("/json")
        assert r.json() == {"at": "2026-11-26T08:30:00+08:00"}
        assert int(r.headers["content-length"]) == len(r.content)
        assert client.get("/text").text == '"2026-11-26T00:30:00Z"'  # not JSON, XML or events
        assert client.get("/events").text == ('data: {"at":"2026-11-26T08:30:00+08:00"}\n\n'
                                              'data: {"at":"2026-11-26T09:00:00+08:00"}\n\n')
