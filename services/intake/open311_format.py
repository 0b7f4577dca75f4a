"""Open311 GeoReport v2 output: JSON or XML documents and the spec's error format."""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree as ET

from fastapi import Response

FORMATS = ("json", "xml")


class Open311Error(Exception):
    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _xml_value(parent: ET.Element, key: str, value: Any) -> None:
    node = ET.SubElement(parent, key)
    if isinstance(value, list):
        for item in value:
            _xml_item(node, "attribute" if key == "attributes" else "value", item)
    elif isinstance(value, bool):
        node.text = "true" if value else "false"
    elif value is not None:
        node.text = str(value)


def _xml_item(parent: ET.Element, name: str, item: Any) -> None:
    if isinstance(item, dict):
        node = ET.SubElement(parent, name)
        for key, value in item.items():
            _xml_value(node, key, value)
    else:
        _xml_value(parent, name, item)


def render(fmt: str, root: str, item: str, data: Any, status: int = 200) -> Response:
    if fmt == "xml":
        if isinstance(data, list):
            top = ET.Element(root)
            for entry in data:
                _xml_item(top, item, entry)
        else:
            top = ET.Element(root)
            for key, value in data.items():
                _xml_value(top, key, value)
        body = b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(top, encoding="utf-8")
        return Response(body, status_code=status, media_type="text/xml; charset=utf-8")
    return Response(json.dumps(data, ensure_ascii=False), status_code=status,
                    media_type="application/json; charset=utf-8")


def error(fmt: str, exc: Open311Error) -> Response:
    fmt = fmt if fmt in FORMATS else "json"
    return render(fmt, "errors", "error", [{"code": exc.status, "description": exc.description}], exc.status)
