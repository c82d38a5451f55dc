"""Export and import captures: JSON lines (our own lossless format) and HAR 1.2.

Both keep the body byte-exact: JSON lines always as base64, HAR as text when the body is
UTF-8 and as base64 otherwise: ``"encoding": "base64"`` on response content (HAR defines it
there) and ``"_encoding": "base64"`` on request ``postData`` (HAR defines none there, and
fields of our own must start with ``_``). Exports validate against the HAR 1.2 JSON Schema.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Generic, TypeVar

from inspector import __version__
from inspector.core import codec
from inspector.core.capture import Capture, ResponseRecord, new_capture_id, split_target
from inspector.core.errors import ExchangeError
from inspector.core.events import parse_event
from inspector.core.redact import PLACEHOLDER

_T = TypeVar("_T")

JSONL = "jsonl"
HAR = "har"
FORMATS = (JSONL, HAR)


def capture_to_record(capture: Capture) -> dict[str, Any]:
    """The JSON-lines record of a capture (fields as in design.md, plus what import needs)."""
    return codec.encode_capture(capture)


def record_to_capture(record: object) -> Capture:
    """Rebuild a capture from a JSON-lines record. Raises ValueError on a broken record."""
    return codec.decode_capture(record)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _utf8_json(value: object) -> bytes:
    """``value`` as UTF-8 JSON. A store may hold text with lone UTF-16 surrogates (written
    before import refused them, or parsed from a body's ``\\ud800`` escape): UTF-8 cannot
    carry them, so each is written as U+FFFD, the replacement character, rather than
    failing the whole export. The body itself is bytes (base64) and always exact."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _LONE_SURROGATE.sub("\ufffd", text).encode("utf-8")


def export_jsonl(captures: Iterable[Capture], fp: IO[bytes]) -> int:
    """Write one JSON object per line; returns how many were written."""
    count = 0
    for capture in captures:
        fp.write(_utf8_json(capture_to_record(capture)))
        fp.write(b"\n")
        count += 1
    return count


def _har_content(body: bytes, mime: str) -> dict[str, Any]:
    try:
        return {"size": len(body), "mimeType": mime, "text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"size": len(body), "mimeType": mime, "text": codec.b64(body), "encoding": "base64"}


def _header_value(headers: Iterable[tuple[str, str]], name: str) -> str:
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return ""


def capture_to_har_entry(capture: Capture) -> dict[str, Any]:
    scheme = "https" if capture.tls else "http"
    host = _header_value(capture.headers, "host") or "localhost"
    if host == PLACEHOLDER:
        # A redacted Host: "http://[redacted]/" would read as a broken IPv6 literal.
        host = "redacted.invalid"
    mime = capture.content_type or "application/octet-stream"
    post = _har_content(capture.body, mime)
    post_data: dict[str, Any] = {"mimeType": mime, "text": post["text"], "params": []}
    if "encoding" in post:
        # HAR 1.2 defines "encoding" only for response content, and says fields it does not
        # define start with "_": our importer reads this one to get the exact bytes back.
        post_data["_encoding"] = "base64"
    response_mime = _header_value(capture.response.headers, "content-type") or "text/plain"
    query_pairs = [
        {"name": name, "value": value}
        for name, _, value in (part.partition("=") for part in capture.query.split("&") if part)
    ]
    return {
        "startedDateTime": codec.iso(capture.received_at),
        "time": 0,
        "request": {
            "method": capture.method,
            "url": f"{scheme}://{host}{capture.target}",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": n, "value": v} for n, v in capture.headers],
            "queryString": query_pairs,
            "postData": post_data,
            "headersSize": -1,
            "bodySize": capture.size,
        },
        "response": {
            "status": capture.response.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "cookies": [],
            "headers": [{"name": n, "value": v} for n, v in capture.response.headers],
            "content": _har_content(capture.response.body, response_mime),
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(capture.response.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 0, "receive": 0},
        # No "serverIPAddress": the server is this inspector, and HAR requires a bare IPv4
        # or IPv6 address there when present; the sender's address is in _fluentInspector.
        "_fluentInspector": _extra(capture),
    }


def _extra(capture: Capture) -> dict[str, Any]:
    """Our own fields of a HAR entry; ``redacted`` only on a redacted capture (so an
    unredacted export is what it always was)."""
    extra: dict[str, Any] = {
        "id": capture.id,
        # The raw target too: the URL cannot give it back when it is not origin-form ("*",
        # absolute) or the Host header holds a "/" (found by a property test: such captures
        # came back with target "/").
        "target": capture.target,
        "remote": capture.remote,
        "rejected": capture.rejected,
        "signatures": codec.capture_signatures(capture),
    }
    if capture.redacted is not None:
        extra["redacted"] = codec.encode_redaction(capture.redacted)
    return extra


def export_har(captures: Iterable[Capture], fp: IO[bytes]) -> int:
    """Write a HAR 1.2 document, streaming entries so large exports stay small in memory."""
    count = 0
    creator = {"name": "Fluent Webhook Inspector", "version": __version__}
    fp.write(b'{"log": {"version": "1.2", "creator": ')
    fp.write(json.dumps(creator).encode())
    fp.write(b', "entries": [\n')
    for capture in captures:
        if count:
            fp.write(b",\n")
        fp.write(_utf8_json(capture_to_har_entry(capture)))
        count += 1
    fp.write(b"\n]}}\n")
    return count


def export(captures: Iterable[Capture], fp: IO[bytes], fmt: str = JSONL) -> int:
    if fmt == JSONL:
        return export_jsonl(captures, fp)
    if fmt == HAR:
        return export_har(captures, fp)
    raise ExchangeError(f"unknown export format {fmt!r}: use one of {', '.join(FORMATS)}")


def export_file(captures: Iterable[Capture], path: Path, fmt: str = JSONL) -> int:
    """Write captures to ``path`` atomically: a ``.part`` file renamed over it only when
    complete, so an interrupted or cancelled export never leaves half a file behind."""
    partial = path.with_name(path.name + ".part")
    try:
        with partial.open("wb") as fp:
            written = export(captures, fp, fmt)
        partial.replace(path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if isinstance(exc, OSError):
            raise ExchangeError(
                f"Cannot write {path}: {exc.strerror or exc}. Choose another file or folder."
            ) from exc
        raise
    return written


def _har_body(post: object) -> bytes:
    if not isinstance(post, dict):
        return b""
    text = post.get("text") or ""
    if not isinstance(text, str):
        raise ValueError("postData.text must be a string")
    # "_encoding" since HAR 1.2 conformance; "encoding" in files exported before that.
    if post.get("_encoding", post.get("encoding")) == "base64":
        return codec.decode_b64(text, "postData.text")
    return text.encode("utf-8")


def har_entry_to_capture(entry: object) -> Capture:
    if not isinstance(entry, dict):
        raise ValueError("a HAR entry must be an object")
    request = entry.get("request")
    if not isinstance(request, dict):
        raise ValueError("entry has no request")
    extra = entry.get("_fluentInspector") if isinstance(entry.get("_fluentInspector"), dict) else {}
    assert isinstance(extra, dict)
    url = str(request.get("url") or "/")
    scheme, sep, rest = url.partition("://")
    target = "/" + rest.partition("/")[2] if sep else url
    if isinstance(extra.get("target"), str) and extra["target"]:
        target = extra["target"]  # ours, exact; other tools' HAR files have only the URL
    path, query = split_target(target)
    body = _har_body(request.get("postData"))
    response = entry.get("response") if isinstance(entry.get("response"), dict) else {}
    assert isinstance(response, dict)
    content = response.get("content") if isinstance(response.get("content"), dict) else {}
    response_body = _har_body(content) if content else b""
    status = response.get("status", 200)
    return Capture(
        id=str(extra.get("id") or new_capture_id()),
        received_at=codec.parse_time(codec.require(entry, "startedDateTime", str)),
        method=str(request.get("method") or "POST"),
        target=target,
        path=path,
        query=query,
        headers=codec.pairs(request.get("headers", []), "request headers"),
        body=body,
        remote=str(extra.get("remote") or entry.get("serverIPAddress") or ""),
        tls=scheme == "https",
        response=ResponseRecord(
            status=status if isinstance(status, int) else 200,
            headers=codec.pairs(response.get("headers", []), "response headers"),
            body=response_body,
        ),
        signatures=codec.decode_signatures(
            extra.get("signatures"), absent="not in the imported file"
        ),
        event=parse_event(body),
        rejected=extra.get("rejected") if isinstance(extra.get("rejected"), str) else None,
        redacted=codec.decode_redaction(extra.get("redacted")),
    )


def _is_har(path: Path) -> bool:
    """A JSON-lines file's first line is a complete record; a HAR file's is not (or has "log")."""
    with path.open("rb") as fp:
        first = b""
        for line in fp:
            if line.strip():
                first = line
                break
    if not first:
        raise ExchangeError(f"{path} is empty: nothing to import.")
    try:
        record = json.loads(first)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return first.lstrip().startswith(b"{")
    return isinstance(record, dict) and "log" in record


class ImportReader(Generic[_T]):
    """Captures read from a JSON-lines or HAR file (detected from the content), with how far
    the reading got: ``done`` of ``total`` (bytes of a JSON-lines file, entries of a HAR
    document) and ``where``, the line or entry last read.

    Iterating raises ExchangeError naming the file and the line or entry that is broken
    (its ``where`` and ``reason`` set), after every capture before it was yielded.
    """

    def __init__(self, path: Path, prepare: Callable[[object], _T | None] | None = None) -> None:
        self.path = path
        self.prepare = prepare
        """Given, each JSON-lines record goes through it first (the importer builds store
        rows straight from the record); where it gives None the record is decoded."""
        self.done = 0
        self.total = 0
        self.where = ""

    def __iter__(self) -> Iterator[Capture | _T]:
        path = self.path
        try:
            har = _is_har(path)
            self.total = path.stat().st_size
        except OSError as exc:
            raise ExchangeError(f"Cannot read {path}: {exc.strerror or exc}.") from exc
        return self._har() if har else self._jsonl()

    def _jsonl(self) -> Iterator[Capture | _T]:
        path = self.path
        decode = codec.decode_capture
        prepare = self.prepare
        loads = json.loads
        done = 0
        with path.open("rb") as fp:
            for number, line in enumerate(fp, start=1):
                done += len(line)
                self.done = done
                if line[:1] in b" \t\r\n" and not line.strip():  # no copy of every record
                    continue
                try:
                    record = loads(line.decode("utf-8"))
                    # Only a \uD800-\uDFFF escape can make a lone surrogate (the bytes were
                    # strict UTF-8): look further only when one is there.
                    if (b"\\ud" in line or b"\\uD" in line) and isinstance(record, dict):
                        _refuse_surrogates(record, skip=("event",))
                    item = prepare(record) if prepare is not None else None
                    capture = decode(record) if item is None else item
                except (ValueError, RecursionError) as exc:
                    reason = plain_reason(exc)
                    raise ExchangeError(
                        f"{path}: line {number} {reason}. Import takes files written "
                        "by 'fluent-inspector export' (JSON lines or HAR).",
                        where=f"line {number}",
                        reason=reason.removeprefix("is ").removeprefix("has "),
                    ) from exc
                self.where = f"line {number}"
                yield capture

    def _har(self) -> Iterator[Capture]:
        path = self.path
        with path.open("rb") as fp:
            data = fp.read()
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as exc:
            if isinstance(exc, UnicodeDecodeError):
                where = f"line {_line_of(data, exc.start)}"
            elif isinstance(exc, json.JSONDecodeError):
                where = f"line {exc.lineno}"
            else:
                where = f"line {_deep_line(data)}"
            reason = plain_reason(exc)
            hint = "Import reads UTF-8 JSON: HAR, or JSON lines from export."
            raise ExchangeError(f"{path}: {where} {reason}. {hint}") from exc
        log = document.get("log") if isinstance(document, dict) else None
        entries = log.get("entries") if isinstance(log, dict) else None
        if not isinstance(entries, list):
            raise ExchangeError(f"{path} has no HAR log.entries list: nothing to import.")
        self.total = len(entries)
        suspect = b"\\ud" in data or b"\\uD" in data
        for number, entry in enumerate(entries, start=1):
            self.done = number - 1
            try:
                if suspect:
                    _refuse_surrogates(entry)
                capture = har_entry_to_capture(entry)
            except ValueError as exc:
                raise ExchangeError(
                    f"{path}, HAR entry {number}: {exc}.",
                    where=f"HAR entry {number}",
                    reason=str(exc).removeprefix("has "),
                ) from exc
            self.where = f"HAR entry {number}"
            yield capture
        self.done = self.total


def import_file(path: Path) -> Iterator[Capture]:
    """Read captures from a JSON-lines or HAR file (detected from the content).

    Raises ExchangeError naming the file and the line or entry that is broken.
    """
    yield from ImportReader(path)


# What the first key of a record's path is, in words, for the refusal below.
_FIELD_WORDS = {
    "headers": "a header",
    "path": "the path",
    "query": "the query",
    "target": "the request target",
    "method": "the method",
    "remote": "the remote address",
    "response": "the response",
    "signatures": "a signature check",
    "forward": "the forward record",
    "replays": "a replay",
    "request": "the request",
    "_fluentInspector": "the _fluentInspector block",
}


def _refuse_surrogates(record: dict[str, Any], skip: tuple[str, ...] = ()) -> None:
    """Raise ValueError naming the first string of ``record`` holding a lone UTF-16
    surrogate: such text is not Unicode, so neither SQLite nor UTF-8 can hold it (an
    import that took it would make every later export fail). Iterative: no depth limit."""
    pending: list[tuple[object, str, str]] = [
        (value, f"{key}", str(key)) for key, value in record.items() if key not in skip
    ]
    while pending:
        value, where, top = pending.pop()
        if isinstance(value, str):
            found = _LONE_SURROGATE.search(value)
            if found:
                words = _FIELD_WORDS.get(top, f"field {top!r}")
                if top == "headers" and where.endswith(("][0]", "][1]")):
                    words = "a header " + ("name" if where.endswith("[0]") else "value")
                raise ValueError(
                    f"has a lone surrogate (\\u{ord(found.group()):04x}) in {words} "
                    f"({where}), which is not valid Unicode: fix or remove that value"
                )
        elif isinstance(value, dict):
            pending += [(v, f"{where}.{k}", top) for k, v in value.items()]
            pending += [(k, f"{where} (a key)", top) for k in value if isinstance(k, str)]
        elif isinstance(value, list):
            pending += [(v, f"{where}[{i}]", top) for i, v in enumerate(value)]


def plain_reason(exc: BaseException) -> str:
    """Why a line or document could not be read, in words rather than Python's codec or
    parser text ("'utf-8' codec can't decode byte 0xff in position 12: invalid start byte")."""
    if isinstance(exc, UnicodeDecodeError):
        return f"is not valid UTF-8 (byte 0x{exc.object[exc.start]:02x} at byte {exc.start + 1})"
    if isinstance(exc, json.JSONDecodeError):
        return f"is not valid JSON ({exc.msg.lower()} at column {exc.colno})"
    if isinstance(exc, RecursionError):
        return "is nested too deeply to read"
    text = str(exc)
    if text.startswith("has "):
        return text
    return f"is not a capture record ({exc})"


def _line_of(data: bytes, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


_STRUCTURE = re.compile(rb'[\[\]{}"\\]')


def _deep_line(data: bytes) -> int:
    """The line where JSON nesting first gets deeper than Python's parser can follow (the
    parser itself only says "recursion"); only runs once a document has failed to parse."""
    limit = max(100, sys.getrecursionlimit() // 2)
    depth = 0
    in_string = False
    escaped_at = -1  # the offset a backslash escapes
    for match in _STRUCTURE.finditer(data):
        at = match.start()
        if at == escaped_at:
            continue
        char = data[at]
        if in_string:
            if char == 0x5C:  # backslash
                escaped_at = at + 1
            elif char == 0x22:  # quote
                in_string = False
        elif char == 0x22:
            in_string = True
        elif char in b"[{":
            depth += 1
            if depth > limit:
                return _line_of(data, at)
        elif char in b"]}":
            depth -= 1
    return 1
