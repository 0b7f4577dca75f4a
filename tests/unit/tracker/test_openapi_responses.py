"""Every endpoint declares a typed answer (issue 18), so the OpenAPI document describes every response.

JSON endpoints: a pydantic ``response_model`` (a ``dict[str, Any]`` annotation is not one: its schema
says nothing).  Other answers (HTML pages, CSV/XLSX, media, WeChat XML, the SSE feed, redirects,
Open311's JSON-or-XML): a non-JSON ``response_class``, and in the document the media types they send.
"""

from __future__ import annotations

import typing
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.datastructures import DefaultPlaceholder
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, SecretStr

from services.platform.settings import ApiSettings
from services.tracker.app import create_app


@pytest.fixture(scope="module")
def app() -> FastAPI:
    """The API app with every router, the WeChat callback included (nothing is connected to)."""
    return create_app(ApiSettings(wechat_token=SecretStr("RugaoToken12319"), wechat_appid="wx49f0ab532d5d035a",
                                  wechat_encoding_aes_key=SecretStr("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR")))


def routes(app: FastAPI) -> list[APIRoute]:
    return [r for r in app.routes if isinstance(r, APIRoute)]


def _name(route: APIRoute) -> str:
    return f"{','.join(sorted(route.methods))} {route.path}"


def _response_class(route: APIRoute) -> type[Response]:
    cls = route.response_class
    return cls.value if isinstance(cls, DefaultPlaceholder) else cls


def _is_model(annotation: Any) -> bool:
    """A pydantic model, or a list of them."""
    if typing.get_origin(annotation) is list:
        (annotation,) = typing.get_args(annotation)
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def test_the_app_has_its_routers(app: FastAPI) -> None:
    paths = {r.path for r in routes(app)}
    for path in ("/api/v1/cases", "/api/v1/complaints", "/open311/v2/requests.{fmt}", "/wechat/callback",
                 "/api/v1/meta", "/dashboard", "/healthz"):
        assert path in paths


def test_every_endpoint_declares_a_response_model_or_a_non_json_response_class(app: FastAPI) -> None:
    missing = []
    for route in routes(app):
        if route.response_model is not None:
            if not _is_model(route.response_model):
                missing.append(f"{_name(route)}: response_model {route.response_model!r} is not a pydantic model")
            continue
        cls = _response_class(route)
        if issubclass(cls, JSONResponse):
            missing.append(f"{_name(route)}: no response_model and a JSON response_class")
        elif route.include_in_schema and not any(str(code).startswith("2") for code in route.responses):
            missing.append(f"{_name(route)}: {cls.__name__} without its 2xx answer in responses={{...}}")
    assert not missing, "\n".join(missing)


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _described(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    """Not ``{}`` and not a bare object: properties, or items that have them, or a union of such."""
    schema = _resolve(doc, schema)
    if schema.get("type") == "array":
        return _described(doc, schema.get("items", {}))
    if "anyOf" in schema:
        return all(_described(doc, s) or s.get("type") == "null" for s in schema["anyOf"])
    return bool(schema.get("properties"))


def test_openapi_builds_and_every_json_answer_has_a_schema(app: FastAPI) -> None:
    doc = app.openapi()
    problems = []
    operations = 0
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            operations += 1
            where = f"{method.upper()} {path}"
            answers = {code: r for code, r in op["responses"].items() if code.startswith("2")}
            if not any(r.get("content") for r in answers.values()):
                problems.append(f"{where}: no 2xx answer with a media type")
            for code, answer in answers.items():
                for media, content in (answer.get("content") or {}).items():
                    if "json" in media and code in ("200", "201") and not _described(doc, content.get("schema", {})):
                        problems.append(f"{where} {code} {media}: empty schema {content.get('schema')}")
    assert operations >= 40
    assert not problems, "\n".join(problems)


def test_the_case_list_documents_every_field_the_pages_read(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert {"count", "total", "total_capped", "as_of", "next_cursor", "cases"} <= set(schemas["CaseList"]["properties"])
    item = schemas["CaseListItem"]["properties"]
    assert {"ticket_no", "phone", "due", "attachments", "version", "extension", "photos"} <= set(item)
