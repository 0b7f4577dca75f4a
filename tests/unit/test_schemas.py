"""schemas/*.json must match the event models: a change to a model without `complaints schemas` fails here."""

from __future__ import annotations

from pathlib import Path

from services.core.events import ComplaintReceived, ComplaintRouted
from services.platform.schemas import render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_schemas_are_generated_from_models() -> None:
    rendered = render()
    on_disk = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert set(on_disk) == set(rendered), "run `complaints schemas`"
    for name, text in rendered.items():
        assert on_disk[name] == text, f"schemas/{name} drifted from the model: run `complaints schemas`"


def test_every_event_has_a_schema_version() -> None:
    for model in (ComplaintReceived, ComplaintRouted):
        assert "schema_version" in model.model_json_schema()["properties"]
