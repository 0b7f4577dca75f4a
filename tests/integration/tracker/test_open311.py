"""Open311 GeoReport v2: services and requests in JSON and XML, POST through the intake, spec-format errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree as ET

from kafka import KafkaConsumer

from services.core.events import ComplaintReceived
from services.platform.embedded import EmbeddedProcess
from services.platform.topics import COMPLAINTS_RECEIVED
from tests.integration.tracker.conftest import Api, make_case

POST = {"service_code": "STREET_VENDING", "description": "花园社区门口天天有人占道摆摊卖水果", "lat": "32.3712",
        "long": "120.5660", "address_string": "如城街道花园社区", "phone": "13900001111", "first_name": "先生",
        "last_name": "李", "media_url": "https://img.example/a.jpg"}


def test_services_json_and_xml(api: Api) -> None:
    r = api.client.get("/open311/v2/services.json")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    services = {s["service_code"]: s for s in r.json()}
    assert len(services) == len(api.client.app.state.core.city.categories)  # type: ignore[attr-defined]
    assert services["OPEN_BBQ"]["service_name"] == "露天烧烤" and services["OPEN_BBQ"]["metadata"] is False
    assert services["OPEN_BBQ"]["type"] == "realtime" and services["OPEN_BBQ"]["group"] == "大气与油烟"
    x = api.client.get("/open311/v2/services.xml")
    assert x.status_code == 200 and "xml" in x.headers["content-type"]
    root = ET.fromstring(x.content)
    assert root.tag == "services" and len(root.findall("service")) == len(services)
    bbq = [s for s in root.findall("service") if s.findtext("service_code") == "OPEN_BBQ"][0]
    assert bbq.findtext("service_name") == "露天烧烤" and bbq.findtext("metadata") == "false"
    d = api.client.get("/open311/v2/services/OPEN_BBQ.json").json()
    assert d == {"service_code": "OPEN_BBQ", "attributes": []}
    dx = ET.fromstring(api.client.get("/open311/v2/services/OPEN_BBQ.xml").content)
    assert dx.tag == "service_definition" and dx.findtext("service_code") == "OPEN_BBQ"


def test_errors_in_the_spec_format(api: Api) -> None:
    r = api.client.get("/open311/v2/services/NOPE.json")
    assert r.status_code == 404 and r.json()[0]["code"] == 404 and r.json()[0]["description"]
    x = api.client.get("/open311/v2/services/NOPE.xml")
    root = ET.fromstring(x.content)
    assert x.status_code == 404 and root.tag == "errors" and root.find("error/code").text == "404"  # type: ignore[union-attr]
    assert api.client.get("/open311/v2/services.csv").status_code == 404
    r = api.client.post("/open311/v2/requests.json", data=POST)
    assert r.status_code == 403 and r.json()[0]["code"] == 403
    r = api.client.post("/open311/v2/requests.json", data={**POST, "api_key": "wrong"})
    assert r.status_code == 403
    key = api.tokens["operator"]
    for bad, word in (({"service_code": "NOPE"}, "service_code"), ({"description": ""}, "description"),
                      ({"lat": "", "long": "", "address_string": ""}, "lat"), ({"lat": "999"}, "lat"),
                      ({"phone": "abc"}, "phone")):
        r = api.client.post("/open311/v2/requests.xml", data={**POST, **bad, "api_key": key})
        assert r.status_code == 400, (bad, r.text)
        assert word in ET.fromstring(r.content).findtext("error/description", "")
    r = api.client.get("/open311/v2/requests.json", params={"status": "pending"})
    assert r.status_code == 400 and "status" in r.json()[0]["description"]
    assert api.client.get("/open311/v2/requests/RG20990101000001.json").status_code == 404


def test_post_request_goes_through_the_intake(api: Api, tansu: EmbeddedProcess) -> None:
    r = api.client.post("/open311/v2/requests.json", data={**POST, "api_key": api.tokens["operator"]})
    assert r.status_code == 201, r.text
    ticket = r.json()[0]["service_request_id"]
    assert ticket.startswith("RG")
    x = api.client.post("/open311/v2/requests.xml", content=f"api_key={api.tokens['command']}&service_code=GARBAGE"
                        "&description=%E5%B0%8F%E5%8C%BA%E9%97%A8%E5%8F%A3%E5%9E%83%E5%9C%BE%E5%A0%86%E7%A7%AF"
                        "&address_string=%E7%99%BD%E8%92%B2%E9%95%87",
                        headers={"content-type": "application/x-www-form-urlencoded"})
    assert x.status_code == 201 and ET.fromstring(x.content).findtext("request/service_request_id", "").startswith("RG")
    consumer = KafkaConsumer(COMPLAINTS_RECEIVED, bootstrap_servers=tansu.url, auto_offset_reset="earliest",
                             consumer_timeout_ms=1500, group_id=None)
    events = [ComplaintReceived.model_validate_json(m.value) for m in consumer]
    consumer.close()
    mine = [e for e in events if e.ticket_no == ticket and e.submitted_by
            and e.submitted_by.endswith(api.client.app.state.auth.authenticate(api.tokens["operator"]).actor)]  # type: ignore[attr-defined]
    assert len(mine) == 1
    ev = mine[0]
    assert ev.channel == "open311" and ev.phone == "13900001111" and ev.name == "李先生"
    assert ev.category_override == "STREET_VENDING" and ev.text == POST["description"]
    assert ev.location is not None and ev.location.lat == 32.3712
    assert ev.attachments[0].url == POST["media_url"] and ev.submitted_by and ev.submitted_by.startswith("open311:")
    # not yet a case: still listed as open
    one = api.client.get(f"/open311/v2/requests/{ticket}.json").json()
    assert one[0]["service_request_id"] == ticket and one[0]["status"] == "open"


def test_list_requests_with_filters_json_and_xml(api: Api) -> None:
    now = datetime.now(UTC)
    open_case = make_case(api.sessions, received_at=now - timedelta(hours=2))
    closed_case = make_case(api.sessions, category="GARBAGE", received_at=now - timedelta(hours=1))
    api.set(closed_case, status="closed", result="已清运", closed_at=now)
    old = make_case(api.sessions, received_at=now - timedelta(days=120))
    r = api.client.get("/open311/v2/requests.json")
    ids = [x["service_request_id"] for x in r.json()]
    assert ids == [closed_case, open_case]  # newest first; the 120-day-old one is outside the default 90 days
    first = r.json()[0]
    assert first["status"] == "closed" and "已清运" in first["status_notes"]
    assert first["agency_responsible"] == "白蒲镇中队" and first["service_name"] == "垃圾与环境卫生"
    assert first["description"] is None and first["address"] is None  # public: no text, no address
    full = api.client.get("/open311/v2/requests.json", params={"api_key": api.tokens["command"]}).json()
    assert full[0]["description"] and "13812345678" not in str(full)
    def ids_for(**params: str) -> list[str]:
        return [x["service_request_id"] for x in api.client.get("/open311/v2/requests.json", params=params).json()]
    assert ids_for(status="open") == [open_case]
    assert ids_for(status="closed") == [closed_case]
    assert ids_for(service_code="NOISE_CONSTRUCTION") == [open_case]
    assert ids_for(start_date=(now - timedelta(days=200)).isoformat()) == [closed_case, open_case, old]
    assert ids_for(end_date=(now - timedelta(minutes=90)).isoformat()) == [open_case]
    assert sorted(ids_for(service_request_id=f"{old},{open_case}")) == sorted([old, open_case])
    x = ET.fromstring(api.client.get("/open311/v2/requests.xml", params={"status": "open"}).content)
    assert x.tag == "service_requests" and [e.findtext("service_request_id") for e in x.findall("request")] == [open_case]
    assert x.findtext("request/status") == "open"
    one = ET.fromstring(api.client.get(f"/open311/v2/requests/{closed_case}.xml").content)
    assert one.findtext("request/status") == "closed"
    if api.client.get("/open311/v2/requests.json", params={"start_date": "yesterday"}).status_code != 400:
        raise AssertionError("a bad start_date must be a 400")
