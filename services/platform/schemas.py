"""schemas/*.json generated from the event models (the models are the source of truth)."""

from __future__ import annotations

import json
from pathlib import Path

from services.core.events import ALL_EVENTS


def render() -> dict[str, str]:
    return {f"{name}.json": json.dumps(model.model_json_schema(), ensure_ascii=False, indent=2, sort_keys=True) + "\n"
            for name, model in ALL_EVENTS.items()}


def write_schemas(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    changed = []
    for name, text in render().items():
        path = out / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            changed.append(path)
    return changed
