"""Our HAR exports are HAR 1.2 as other tools read it: valid against the HAR 1.2 JSON Schema
(the one ``har-validator`` uses, vendored in tests/data/har-schema) and with every field HAR
does not define prefixed with ``_``, as the spec asks. The byte-exact round trip is in
test_exchange.py; here, what other tools see."""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft6Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT6

from inspector.core.capture import ResponseRecord
from inspector.core.exchange import export_har, import_file
from tests.core.test_exchange import BODIES, EVENT_BODY, _capture

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "data" / "har-schema"


@cache
def _schemas() -> dict[str, dict[str, Any]]:
    return {
        path.name: json.loads(path.read_text(encoding="utf-8"))
        for path in SCHEMA_DIR.glob("*.json")
    }


def _validator() -> Draft6Validator:
    registry: Registry[Any] = Registry().with_resources(
        (name, Resource.from_contents(schema, default_specification=DRAFT6))
        for name, schema in _schemas().items()
    )
    return Draft6Validator(
        _schemas()["har.json"], registry=registry, format_checker=Draft6Validator.FORMAT_CHECKER
    )


def _export(captures: list[Any]) -> dict[str, Any]:
    fp = io.BytesIO()
    export_har(captures, fp)
    document: dict[str, Any] = json.loads(fp.getvalue())
    return document


def _captures() -> list[Any]:
    captures = [_capture(body, id=f"c{i}") for i, body in enumerate(BODIES)]
    captures.append(
        _capture(
            EVENT_BODY,
            id="rejected",
            rejected="body over the limit",
            response=ResponseRecord(413, (), b"\x00\xff binary answer"),
        )
    )
    captures.append(_capture(b"x=1", id="get", method="GET", target="/", path="/", query=""))
    return captures


def _errors(document: dict[str, Any]) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in _validator().iter_errors(document)
    ]


def test_export_validates_against_the_har_1_2_schema() -> None:
    document = _export(_captures())
    assert _errors(document) == []


def test_the_schema_check_can_fail() -> None:
    # What older exports had: an empty serverIPAddress is neither IPv4 nor IPv6.
    document = _export([_capture(EVENT_BODY)])
    document["log"]["entries"][0]["serverIPAddress"] = ""
    del document["log"]["entries"][0]["request"]["httpVersion"]
    errors = _errors(document)
    assert any("serverIPAddress" in e for e in errors)
    assert any("httpVersion" in e for e in errors)


def _undefined_fields(value: Any, schema: dict[str, Any], where: str) -> list[str]:
    """Fields of ``value`` that the schema does not define, following $ref and items."""
    if "$ref" in schema:
        schema = _schemas()[schema["$ref"].rstrip("#")]
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key in schema["properties"]:
                found += _undefined_fields(item, schema["properties"][key], f"{where}.{key}")
            else:
                found.append(f"{where}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            found += _undefined_fields(item, schema["items"], f"{where}[{index}]")
    return found


def test_fields_har_does_not_define_start_with_an_underscore() -> None:
    document = _export(_captures())
    extra = _undefined_fields(document, _schemas()["har.json"], "$")
    assert extra, "our own fields (_fluentInspector, _encoding) should be found"
    assert [f for f in extra if not f.rsplit(".", 1)[-1].startswith("_")] == []


def test_binary_request_body_is_marked_with_underscore_encoding() -> None:
    entry = _export([_capture(b"\xff\x00 binary")])["log"]["entries"][0]
    post = entry["request"]["postData"]
    assert post["_encoding"] == "base64" and "encoding" not in post
    assert "serverIPAddress" not in entry


def test_har_written_before_the_underscore_still_imports(tmp_path: Path) -> None:
    # Files exported by earlier versions marked binary postData with "encoding".
    document = _export([_capture(b"\xff\x00 binary", id="old")])
    post = document["log"]["entries"][0]["request"]["postData"]
    post["encoding"] = post.pop("_encoding")
    document["log"]["entries"][0]["serverIPAddress"] = ""
    path = tmp_path / "old.har"
    path.write_text(json.dumps(document), encoding="utf-8")
    (restored,) = import_file(path)
    assert restored.body == b"\xff\x00 binary"
    assert restored.remote == "127.0.0.1:50123"


@pytest.mark.parametrize("index", range(len(BODIES)))
def test_text_bodies_are_plain_text_for_other_tools(index: int) -> None:
    # mitmproxy's HAR reader (and browsers' devtools) take postData.text as the body.
    body = BODIES[index]
    entry = _export([_capture(body)])["log"]["entries"][0]
    post = entry["request"]["postData"]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        assert post["_encoding"] == "base64"
    else:
        assert post["text"] == text and "_encoding" not in post
    assert entry["_fluentInspector"]["signatures"]["flex.signature"]["verdict"] == "valid"


def test_a_redacted_export_validates_and_its_mark_is_ours() -> None:
    from inspector.core.redact import Redactor, parse_spec

    redactor = Redactor(parse_spec(["Authorization,Host,flex.signature,$..entityRef,$.attributes"]))
    document = _export([redactor.apply(capture) for capture in _captures()])
    assert _errors(document) == []
    # A redacted Host still makes a URL other tools can parse.
    url = document["log"]["entries"][0]["request"]["url"]
    assert url.startswith("http://redacted.invalid/")
    extra = _undefined_fields(document, _schemas()["har.json"], "$")
    assert [f for f in extra if not f.rsplit(".", 1)[-1].startswith("_")] == []
    marks = [e["_fluentInspector"]["redacted"] for e in document["log"]["entries"]]
    assert {m["body"] for m in marks} >= {"changed", "not_json"}
    assert all(m["headers"] == ["authorization", "host", "flex.signature"] for m in marks)
