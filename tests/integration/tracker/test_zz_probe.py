from tests.integration.tracker.conftest import Api
def test_probe(api: Api) -> None:
    with api.client.stream("GET", "/api/v1/feed", headers=api.h("command")) as r:
        print("STATUS", r.status_code)
        for line in r.iter_lines():
            print("LINE", line); break
