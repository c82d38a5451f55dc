"""Command line: argument parsing only. Builds core objects and hands off.

Every command takes ``--data-dir``; bad input ends in a one-line message and exit 2,
never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import math
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from inspector import __version__
from inspector.core import paths
from inspector.core.capture import Capture, SignatureHeader, Verdict
from inspector.core.capture_ids import ShortIds
from inspector.core.errors import InspectorError
from inspector.core.redact import REDACTED, badge
from inspector.core.text import EscapingFormatter, escape_control

EXIT_OK = 0
EXIT_NOT_VALID = 1
EXIT_USAGE = 2


class _Parser(argparse.ArgumentParser):
    #: Builds the epilog when help is shown, for text whose source is slow to import.
    lazy_epilog: Callable[[], str] | None = None

    def error(self, message: str) -> Any:  # one line, exit 2, like every other usage error
        self.exit(EXIT_USAGE, f"{self.prog}: {message} (see --help)\n")

    def format_help(self) -> str:
        if self.lazy_epilog is not None:
            self.epilog = self.lazy_epilog()
        return super().format_help()


def _add_data_dir(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS, not None: a subcommand's parser otherwise writes its own default over a
    # --data-dir given before it (`keys --data-dir D add ...` silently used the real data dir).
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=argparse.SUPPRESS,
        help=f"where captures and keys live (default: ${paths.ENV_HOME} or the user data dir)",
    )


def _add_listener_options(parser: argparse.ArgumentParser, *, saved: bool = False) -> None:
    # The window remembers the listener settings chosen in its UI: None means "use those".
    where = " (default: as last set in the window, else 127.0.0.1)" if saved else " (127.0.0.1)"
    parser.add_argument(
        "--host", default=None if saved else "127.0.0.1", help="address to listen on" + where
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None if saved else 8765,
        help="port to listen on (8765; 0 = any)",
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host: anyone on that network can then post to it",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="fluent-inspector",
        description="Capture, verify and inspect Fluent Commerce webhooks.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_data_dir(parser)
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    gui = sub.add_parser("gui", help="open the desktop window (default)")
    _add_listener_options(gui, saved=True)
    _add_data_dir(gui)

    listen = sub.add_parser("listen", help="capture headless; one line per webhook")
    _add_listener_options(listen)
    _add_data_dir(listen)
    listen.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="FILE|NAME=FILE",
        help="also verify with this public key (this run only; repeatable)",
    )
    listen.add_argument(
        "--json",
        action="store_true",
        help="print JSON lines, for programs: every header, Authorization and signature "
        "values included (share an 'export --redact' instead)",
    )
    listen.add_argument(
        "--body-limit-mb", type=_positive_number, default=10.0, help="largest body (10 MiB)"
    )
    listen.add_argument(
        "--queue-limit",
        type=_queue_limit,
        default=1000,
        metavar="N",
        help="most captures waiting to be written before new ones get 503 + Retry-After (1000)",
    )
    listen.add_argument("--tls-cert", type=Path, help="serve HTTPS with this certificate (PEM)")
    listen.add_argument("--tls-key", type=Path, help="private key for --tls-cert (PEM)")
    listen.add_argument("--quiet", action="store_true", help="print nothing per capture")
    listen.add_argument(
        "--forward-to",
        metavar="URL",
        help="store each request, then send it on byte-exact to URL (+ its path and query) "
        "and answer with the target's answer",
    )
    listen.add_argument(
        "--forward-timeout",
        type=float,
        default=10.0,
        metavar="S",
        help="seconds the forward target has to answer (10)",
    )
    listen.add_argument(
        "--forward-fallback",
        type=int,
        default=502,
        metavar="STATUS",
        help="status answered when the target is down, too slow or answers garbage (502)",
    )
    listen.add_argument(
        "--forward-path",
        action="append",
        default=[],
        metavar="GLOB=URL",
        help="forward requests whose path matches GLOB to URL instead (repeatable; first wins)",
    )
    listen.add_argument(
        "--rules",
        type=Path,
        metavar="FILE",
        help="answer by these response rules (JSON; re-read when it changes)",
    )
    listen.add_argument(
        "--require-signature",
        action="store_true",
        help="signed-only: answer 401 (and record it as rejected) unless a configured key "
        "verifies flex.signature or fluent-signature",
    )
    listen.add_argument(
        "--path-prefix",
        metavar="/h/SECRET",
        help="serve only paths under this secret prefix; others get 404 and are not stored "
        "(default: $FLUENT_INSPECTOR_PATH_PREFIX, which keeps it out of `ps`)",
    )
    # Internal: how often the "refused N request(s)" line may appear (tests shorten it).
    listen.add_argument(
        "--refused-report-interval", type=_positive_number, default=60.0, help=argparse.SUPPRESS
    )
    # The window's rules.json may not exist yet: then there are no rules until it does.
    listen.add_argument("--rules-if-present", action="store_true", help=argparse.SUPPRESS)
    # Internal, so hidden from --help: the window drives its child listener with these.
    # --machine: JSON events on stdout (listening, capture id, status), 'reload-keys' lines
    # on stdin, stops at stdin EOF. --key-ring: verify with that file, not keys.json.
    listen.add_argument("--machine", action="store_true", help=argparse.SUPPRESS)
    listen.add_argument("--key-ring", type=Path, metavar="FILE", help=argparse.SUPPRESS)

    replay = sub.add_parser(
        "replay",
        help="resend captures byte-exact (or an edited, re-signed body); exit 0 if all got 2xx",
    )
    _add_data_dir(replay)
    replay.add_argument("ids", nargs="+", metavar="ID", help="capture ids (or unique prefixes)")
    replay.add_argument(
        "--to", required=True, metavar="URL", help="target; each capture's path is appended"
    )
    replay.add_argument("--body", type=Path, metavar="FILE", help="send this body instead")
    signing = replay.add_mutually_exclusive_group()
    signing.add_argument(
        "--sign-key", type=Path, metavar="PEM", help="re-sign both headers with this private key"
    )
    signing.add_argument(
        "--sign-demo", action="store_true", help="re-sign both headers with the demo key"
    )
    replay.add_argument("--json", action="store_true", help="print one JSON line per replay")
    replay.add_argument(
        "--timeout", type=float, default=30.0, metavar="S", help="seconds per replay (30)"
    )

    verify = sub.add_parser("verify", help="check a body's signatures; exit 0 only if all valid")
    _add_data_dir(verify)
    verify.add_argument(
        "--key",
        action="append",
        default=[],
        metavar="FILE|NAME",
        help="public key file, or the name of a key in the key ring (default: the whole ring)",
    )
    verify.add_argument("--body", type=Path, required=True, help="the exact raw body ('-': stdin)")
    verify.add_argument("--flex-signature", metavar="B64", help="value of flex.signature")
    verify.add_argument("--fluent-signature", metavar="B64", help="value of fluent-signature")
    verify.add_argument("--json", action="store_true", help="print the result as JSON")

    keys = sub.add_parser("keys", help="manage the Fluent public keys used to verify")
    _add_data_dir(keys)
    keys_sub = keys.add_subparsers(dest="keys_command", parser_class=_Parser, required=True)
    keys_add = keys_sub.add_parser("add", help="add a key: NAME FILE (or - for stdin)")
    keys_add.add_argument("name")
    keys_add.add_argument("file")
    keys_add.add_argument("--replace", action="store_true", help="replace a key of that name")
    _add_data_dir(keys_add)
    keys_list = keys_sub.add_parser("list", help="list keys with size and SHA-256 fingerprint")
    _add_data_dir(keys_list)
    keys_remove = keys_sub.add_parser("remove", help="remove a key by name")
    keys_remove.add_argument("name")
    _add_data_dir(keys_remove)

    export = sub.add_parser("export", help="write captures as JSON lines or HAR 1.2")
    _add_data_dir(export)
    export.add_argument("--format", choices=["jsonl", "har"], default="jsonl")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: stdout)")
    export.add_argument("--search", default="", help="only captures matching this text")
    export.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="HEADER,JSONPATH,...",
        help="replace these headers' values and these JSON paths' values with \"[redacted]\" "
        "(comma-separated, repeatable; paths: $, .name, ['name'], [N], [*], ..name - e.g. "
        "Authorization,$.customer.email,$.items[*].address); the records say they were "
        "redacted, and their signatures no longer apply",
    )

    imp = sub.add_parser("import", help="read captures from a JSON-lines or HAR file")
    _add_data_dir(imp)
    imp.add_argument("file", type=Path)

    profile = sub.add_parser("profile", help="manage Fluent API connection profiles")
    _add_data_dir(profile)
    profile_sub = profile.add_subparsers(
        dest="profile_command", parser_class=_Parser, required=True
    )
    profile_add = profile_sub.add_parser(
        "add", help="add a profile; secrets are asked for (or read from the environment)"
    )
    profile_add.add_argument("name")
    profile_add.add_argument(
        "--base-url", required=True, help="e.g. https://ACME.sandbox.api.fluentretail.com"
    )
    profile_add.add_argument("--client-id", default="")
    profile_add.add_argument("--username", default="")
    profile_add.add_argument("--retailer-id", default=None)
    profile_add.add_argument(
        "--bearer-token", action="store_true", help="use a pasted bearer token instead of a login"
    )
    profile_add.add_argument(
        "--replace", action="store_true", help="replace a profile of that name"
    )
    _add_data_dir(profile_add)
    profile_list = profile_sub.add_parser("list", help="list profiles (never their secrets)")
    _add_data_dir(profile_list)
    profile_remove = profile_sub.add_parser("remove", help="remove a profile and its secrets")
    profile_remove.add_argument("name")
    _add_data_dir(profile_remove)

    follow = sub.add_parser("follow-up", help="ask Fluent's GraphQL API about a capture's entity")
    _add_data_dir(follow)
    follow.add_argument("capture_id", help="the capture's id, or a unique prefix of it")
    follow.add_argument("--profile", help="profile name (default: the only profile)")
    follow.add_argument("--query", type=Path, help="a .graphql file instead of the template")
    follow.add_argument("--variables", help="JSON object of variables (default: from the event)")

    diff = sub.add_parser(
        "diff", help="what changed between two captures: body by JSON path, headers, verdicts"
    )
    _add_data_dir(diff)
    diff.add_argument("a", help="the first capture's id, or a unique prefix of it")
    diff.add_argument("b", help="the second capture's id, or a unique prefix of it")
    diff.add_argument("--json", action="store_true", help="print the diff as one JSON object")

    timeline = sub.add_parser(
        "timeline",
        help="an entity's captures in time order, with what looks wrong; exit 1 if none",
    )
    _add_data_dir(timeline)
    timeline.add_argument("ref", help="a root entity ref or entity ref, e.g. an order's ref")
    timeline.add_argument("--json", action="store_true", help="print one JSON object per capture")

    sandbox: _Parser = sub.add_parser(
        "sandbox",
        help="run an offline Fluent account for demos and tests",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sandbox.lazy_epilog = _scenario_list
    _add_data_dir(sandbox)
    sandbox.add_argument("--port", type=int, default=0, help="port for OAuth + GraphQL (0 = any)")
    sandbox.add_argument("--emit-to", metavar="URL", help="post a scenario's signed webhooks here")
    sandbox.add_argument("--scenario", default="order-lifecycle", help="scenario to play")
    sandbox.add_argument("--step-seconds", type=float, default=1.0, help="scale of every pause")
    sandbox.add_argument(
        "--add-profile", metavar="NAME", help="also save a profile NAME pointing at the sandbox"
    )
    return parser


def _scenario_list() -> str:
    from inspector.core.sandbox import SCENARIOS

    width = max(len(name) for name in SCENARIOS)
    lines = [f"  {name:<{width}}  {s.description}" for name, s in SCENARIOS.items()]
    return "scenarios (--scenario NAME):\n" + "\n".join(lines)


def _data_dir(args: argparse.Namespace) -> Path:
    return paths.ensure_data_dir(getattr(args, "data_dir", None))


def _err(message: str) -> None:
    # Messages quote ids, paths and file contents a user (or a webhook) supplied.
    print(f"fluent-inspector: {escape_control(message)}", file=sys.stderr)


def _log_to_stderr() -> None:
    """Warnings from the core (a rules file that stopped parsing, keys that did not reload)
    reach the terminal as one escaped line each, not through logging's bare fallback."""
    package = logging.getLogger("inspector")
    if not package.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(EscapingFormatter("fluent-inspector: %(message)s"))
        handler.setLevel(logging.WARNING)
        package.addHandler(handler)


#: Largest key file `keys add` reads: a PEM certificate chain is a few KiB.
KEY_READ_LIMIT = 1024 * 1024
#: Largest body `verify` reads: the listener's default body limit.
BODY_READ_LIMIT = 10 * 1024 * 1024
#: Largest query file `follow-up --query` reads.
QUERY_READ_LIMIT = 1024 * 1024


def _read_input(name: str, limit: int, what: str) -> bytes:
    """Read a file (or stdin for ``-``), at most ``limit`` bytes: ``keys add k /dev/zero``
    once grew to 20 GB before it was killed."""
    try:
        if name == "-":
            data = sys.stdin.buffer.read(limit + 1)
        else:
            with Path(name).open("rb") as f:
                data = f.read(limit + 1)
    except OSError as exc:
        raise InspectorError(f"Cannot read {name}: {exc.strerror or exc}.") from exc
    if len(data) > limit:
        raise InspectorError(
            f"{name} is larger than {limit // 1024:,} KiB, too large for {what}: "
            "check that it is the right file."
        )
    return data


def _queue_limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of captures of 1 or more")
    return value


def _positive_number(text: str) -> float:
    """A finite number above zero (``nan`` and ``inf`` parse as floats, and broke later)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be a finite number above 0")
    return value


# --- gui -------------------------------------------------------------------------------


def _has_display() -> bool:
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def cmd_gui(args: argparse.Namespace) -> int:
    if not _has_display():
        _err(
            "no display found (DISPLAY and WAYLAND_DISPLAY are unset), so the window cannot "
            "open. To capture without a window run: fluent-inspector listen"
        )
        return EXIT_USAGE
    from inspector.gui.app import run  # Qt is imported only when a window is wanted

    return run(args.host, args.port, _data_dir(args), allow_remote=args.allow_remote)


# --- listen ----------------------------------------------------------------------------


def _badge(capture: Capture, header: SignatureHeader) -> str:
    check = capture.signature(header)
    short = "flex" if header is SignatureHeader.FLEX else "fluent"
    if capture.redacted is not None and badge(check.verdict, header, capture.redacted) is REDACTED:
        # An imported redacted export: its body is not what was signed.
        return f"{short} {REDACTED.symbol} {REDACTED.label}"
    text = f"{short} {check.verdict.symbol} {check.verdict.label}"
    if check.verdict is Verdict.VALID and check.key_name:
        text += f" ({check.key_name})"
    return text


_SECRET_WORDS = ("token", "key", "secret", "signature", "password", "auth")


def shown_target(capture: Capture) -> str:
    """The request target for a terminal: when a query parameter's name looks like it
    carries a secret (``?token=...``), every value is left out, since terminals are
    screen-shared and scrolled back; ``--json`` and ``export`` keep the whole target."""
    if not capture.query:
        return capture.target
    names = [part.partition("=")[0] for part in capture.query.split("&") if part]
    if not any(word in name.lower() for name in names for word in _SECRET_WORDS):
        return capture.target
    return capture.path + "?" + "&".join(f"{name}=…" for name in names)


def format_capture_line(capture: Capture, short_id: str | None = None) -> str:
    """One readable line per capture, as `listen` prints it; ``short_id`` (default: the
    whole id) is what a user can pass to commands that take a capture id."""
    time = capture.received_at.astimezone().strftime("%H:%M:%S")
    parts = [time, f"{capture.method:<6}", shown_target(capture)]
    # Everything but the time and the verdicts came from the request: see core/text.py.
    if capture.event is not None:
        event = capture.event
        parts.append(
            " ".join(p for p in (event.name, event.entity_type, event.entity_ref) if p) or "-"
        )
        if event.entity_status:
            parts.append(f"[{event.entity_status}]")
        if capture.attempt > 1:
            parts.append(f"attempt {capture.attempt}")
    parts.append(_badge(capture, SignatureHeader.FLEX))
    parts.append(_badge(capture, SignatureHeader.FLUENT))
    parts.append(f"-> {capture.response.status}")
    if capture.rule is not None:
        parts.append(f"(rule {capture.rule})")
    if capture.forward is not None:
        parts.append(f"({capture.forward.summary}, {capture.forward.elapsed_ms:.0f} ms)")
    if capture.rejected:
        parts.append(f"({capture.rejected})")
    parts.append(f"{capture.size} B")
    parts.append(f"id {short_id or capture.id}")
    return escape_control("  ".join(parts))


def capture_json_line(capture: Capture) -> str:
    from inspector.core.codec import encode_capture

    # The line is a log of arrivals; `export` gives the exact bytes.
    return json.dumps(encode_capture(capture, bodies=False), ensure_ascii=False)


def _session_keyring(data_dir: Path, extra: Sequence[str], ring_file: Path | None = None) -> Any:
    from inspector.core.keys import KeyRing, load_public_key_file

    ring = KeyRing(ring_file) if ring_file is not None else KeyRing.open(data_dir)
    if not extra:
        return ring
    # --key is for this run only: layer the given keys over a copy of the saved ring.
    session = KeyRing(None)
    for key in ring.keys():
        session.add_key(key)
    for spec in extra:
        name, sep, file = spec.partition("=")
        if not sep:
            file, name = spec, Path(spec).stem
        session.add_key(load_public_key_file(Path(file), name), replace=True)
    return session


def _path_prefix(args: argparse.Namespace) -> str | None:
    """--path-prefix, else the environment's; checked here so a bad one is a usage error."""
    from inspector.core.listener.gates import PATH_PREFIX_ENV, normalize_path_prefix

    given = args.path_prefix if args.path_prefix is not None else os.environ.get(PATH_PREFIX_ENV)
    try:
        return normalize_path_prefix(given)
    except ValueError as exc:
        where = "--path-prefix" if args.path_prefix is not None else f"${PATH_PREFIX_ENV}"
        raise InspectorError(f"{where}: {exc}") from None


def _refusal_reporter(listener: Any, interval: float) -> Callable[[], None] | None:
    """A tick that says, at most once per ``interval``, how many requests the path prefix
    refused since it last said so. Counts only: the refused paths are a scanner's input,
    not worth a terminal line each (and never printed raw)."""
    if not listener.config.path_prefix:
        return None
    import time

    said = [0, time.monotonic()]  # count reported so far, when

    def tick() -> None:
        now = time.monotonic()
        if now - said[1] < interval:
            return
        count = listener.refused_outside_prefix
        if count > said[0]:
            _err(refused_line(count - said[0], interval))
            said[0] = count
        said[1] = now

    return tick


def refused_line(count: int, interval: float = 60.0) -> str:
    """What `listen` says about requests the path prefix refused in the last interval."""
    what = "the last minute" if interval == 60 else f"the last {interval:g} s"
    return f"refused {count} request(s) outside --path-prefix in {what}"


def cmd_listen(args: argparse.Namespace) -> int:
    from inspector.core.listener import Listener, ListenerConfig, is_loopback
    from inspector.core.listener.serve import serve_until_stopped
    from inspector.core.store import Store

    data_dir = _data_dir(args)
    keyring = _session_keyring(data_dir, args.key, args.key_ring)
    forward_paths = []
    for spec in args.forward_path:
        glob, sep, url = spec.partition("=")
        if not sep or not glob or not url:
            _err(f"--forward-path {spec!r}: give GLOB=URL, e.g. '/wms/*=http://127.0.0.1:3000'")
            return EXIT_USAGE
        forward_paths.append((glob, url))
    config = ListenerConfig(
        host=args.host,
        port=args.port,
        body_limit=int(args.body_limit_mb * 1024 * 1024),
        queue_limit=args.queue_limit,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        allow_remote=args.allow_remote,
        forward_to=args.forward_to,
        forward_paths=tuple(forward_paths),
        forward_timeout=args.forward_timeout,
        forward_fallback=args.forward_fallback,
        rules_file=args.rules,
        rules_must_exist=not args.rules_if_present,
        require_signature=args.require_signature,
        path_prefix=_path_prefix(args),
    )
    if args.allow_remote and not is_loopback(args.host):
        _err(f"warning: listening on {args.host}: anyone who can reach it can post captures.")
    store = Store.open(data_dir)
    if args.machine:
        from inspector.core.listener.child import run_child

        run_child(store, keyring, config)
        return EXIT_OK
    from inspector.core.listener.printer import CapturePrinter

    listener = Listener(store, keyring, config)
    stop_printer: Callable[[], None] | None = None
    done = threading.Event()
    if not args.quiet:
        ids = ShortIds()
        printer = CapturePrinter(
            sys.stdout,
            capture_json_line if args.json else lambda c: format_capture_line(c, ids.short(c.id)),
            every=args.json,
        )
        listener.subscribe_captures(printer.add)
        stop_printer = printer.stop
    stored = [0]  # counted on the listener's thread, read here after it stopped
    # subscribe_captures, not subscribe: a notice builds the capture's table row, and that
    # was ~10% of the listener's time just to count.
    listener.subscribe_captures(lambda _: stored.__setitem__(0, stored[0] + 1))
    serve_until_stopped(
        listener,
        store,
        keyring,
        done,
        warn=_err,
        on_stopped=stop_printer,
        every_half_second=_refusal_reporter(listener, args.refused_report_interval),
    )
    print(f"Stopped: stored {stored[0]} capture(s) in {store.path}", file=sys.stderr)
    return EXIT_OK


# --- replay ----------------------------------------------------------------------------


def _replay_line(short_id: str, record: Any) -> str:
    answer = (
        f"{record.status} in {record.elapsed_ms:.0f} ms"
        if record.error is None
        else f"not delivered: {record.error}"
    )
    parts = [f"{short_id} -> {record.url}: {answer}"]
    if record.edited:
        parts.append("body edited")
    parts.append(record.badge)
    return escape_control(", ".join(parts))


def cmd_replay(args: argparse.Namespace) -> int:
    from inspector.core.codec import encode_replay
    from inspector.core.forward import check_target_url
    from inspector.core.replay import demo_signing_key, load_signing_key, replay
    from inspector.core.store import Store

    try:
        target = check_target_url(args.to, "replay target")
    except ValueError as exc:
        _err(f"{exc} (--to URL)")
        return EXIT_USAGE
    if not args.timeout > 0:
        _err(f"--timeout must be a positive number of seconds (got {args.timeout:g}).")
        return EXIT_USAGE
    body = (
        _read_input(str(args.body), BODY_READ_LIMIT, "a webhook body")
        if args.body is not None
        else None
    )
    # Read for this one run and dropped with it: never stored, never printed.
    key = (
        load_signing_key(args.sign_key)
        if args.sign_key is not None
        else demo_signing_key()
        if args.sign_demo
        else None
    )
    store = Store.open(_data_dir(args))
    try:
        captures = []
        for given in args.ids:
            capture = store.get(store.resolve_id(given))
            if capture is None:
                _err(f"capture {given} was deleted meanwhile: nothing to replay.")
                return EXIT_USAGE
            captures.append(capture)
        warned = False
        failed = 0
        import httpx

        with httpx.Client(timeout=args.timeout, follow_redirects=False, trust_env=False) as client:
            for given, capture in zip(args.ids, captures, strict=True):
                record = replay(
                    capture, target, body=body, key=key, client=client, timeout=args.timeout
                )
                store.add_replay(capture.id, record)
                if record.edited and key is None and not warned:
                    from inspector.core.replay import EDITED_WARNING

                    _err(f"warning: {EDITED_WARNING}.")
                    warned = True
                if args.json:
                    line = json.dumps({"id": capture.id, "replay": encode_replay(record)})
                    print(line, flush=True)
                else:
                    print(_replay_line(given, record), flush=True)
                if not record.ok:
                    failed += 1
                    why = (
                        f"answered {record.status}"
                        if record.error is None
                        else f"could not be delivered: {record.error}"
                    )
                    _err(f"replay of {given} to {record.url} {why}")
    finally:
        store.close()
    return EXIT_NOT_VALID if failed else EXIT_OK


# --- verify ----------------------------------------------------------------------------


def cmd_verify(args: argparse.Namespace) -> int:
    from inspector.core.keys import KeyRing, load_public_key_file
    from inspector.core.signatures import check_signature

    if args.flex_signature is None and args.fluent_signature is None:
        _err("give --flex-signature and/or --fluent-signature to check")
        return EXIT_USAGE
    ring = KeyRing.open(_data_dir(args))
    keys = []
    for spec in args.key:
        path = Path(spec)
        if path.exists() or os.sep in spec or spec.endswith((".pem", ".der", ".b64", ".crt")):
            keys.append(load_public_key_file(path, path.stem))
        else:
            keys.append(ring.get(spec))
    if not args.key:
        keys = list(ring.keys())
        if not keys:
            _err("no key to verify with: pass --key FILE, or add one with 'keys add NAME FILE'")
            return EXIT_USAGE
    body = _read_input(str(args.body), BODY_READ_LIMIT, "a webhook body")
    results = []
    for header, value in (
        (SignatureHeader.FLEX, args.flex_signature),
        (SignatureHeader.FLUENT, args.fluent_signature),
    ):
        if value is not None:
            results.append(check_signature(header, value, body, keys, header.value))
    if args.json:
        print(
            json.dumps(
                {
                    check.header.value: {
                        "verdict": check.verdict.value,
                        "key": check.key_name,
                        "detail": check.detail,
                    }
                    for check in results
                }
            )
        )
    else:
        for check in results:
            line = f"{check.header.value}: {check.verdict.symbol} {check.verdict.label}"
            if check.key_name:
                line += f" (key {check.key_name})"
            if check.verdict is not Verdict.VALID and check.detail:
                line += f" - {check.detail}"
            print(line)
    return EXIT_OK if all(c.verdict is Verdict.VALID for c in results) else EXIT_NOT_VALID


# --- keys ------------------------------------------------------------------------------


def cmd_keys(args: argparse.Namespace) -> int:
    from inspector.core.keys import KeyRing

    ring = KeyRing.open(_data_dir(args))
    if args.keys_command == "add":
        key = ring.add(
            args.name, _read_input(args.file, KEY_READ_LIMIT, "a key"), replace=args.replace
        )
        print(f"added {key.name}: RSA-{key.bits} ({key.source}) SHA256 {key.fingerprint}")
    elif args.keys_command == "list":
        keys = ring.keys()
        if not keys:
            print("no keys yet: add Fluent's public key with 'fluent-inspector keys add NAME FILE'")
        width = max((len(k.name) for k in keys), default=0)
        for key in keys:
            print(f"{key.name:<{width}}  RSA-{key.bits:<4}  SHA256 {key.fingerprint}")
    elif args.keys_command == "remove":
        ring.remove(args.name)
        print(f"removed {args.name}")
    return EXIT_OK


# --- export / import -------------------------------------------------------------------


def cmd_export(args: argparse.Namespace) -> int:
    # The window's export loop, without progress or cancellation.
    from inspector.core.jobs import NO_PROGRESS, export_job
    from inspector.core.redact import Redactor, parse_spec
    from inspector.core.store import CaptureQuery, Store

    # A bad path is a usage error before anything is opened or written.
    spec = parse_spec(args.redact)
    redactor = Redactor(spec) if spec else None
    with Store.open(_data_dir(args)) as store:
        query = CaptureQuery(text=args.search)
        target = sys.stdout.buffer if args.output is None else args.output
        count = export_job(NO_PROGRESS, store, query, target, args.format, redactor)
        if args.output is None:
            sys.stdout.flush()
    note = f" ({redactor.note})" if redactor is not None else ""
    print(f"exported {count} capture(s){note}", file=sys.stderr)
    return EXIT_OK


class _ImportBar:
    """The import's progress on stderr, redrawn in place at most ten times a second; only
    when stderr is a terminal (a pipe or a log gets the final line alone). Ctrl+C asks the
    import to stop after the batches already queued (a second Ctrl+C interrupts)."""

    WIDTH = 28

    def __init__(self, tally: Any, stream: IO[str]) -> None:
        import time

        self._clock = time.monotonic
        self._began = self._clock()
        self._last = 0.0
        self._tally = tally
        self._stream = stream
        self.shown = stream.isatty()
        self.stop = threading.Event()

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set()

    def report(self, done: int, total: int) -> None:
        now = self._clock()
        if not self.shown or now - self._last < 0.1:
            return
        self._last = now
        fraction = min(1.0, done / total) if total else 0.0
        filled = round(fraction * self.WIDTH)
        imported = self._tally.read
        rate = imported / max(now - self._began, 1e-6)
        self._stream.write(
            f"\r[{'#' * filled}{'.' * (self.WIDTH - filled)}] {fraction:4.0%}  "
            f"{imported:,} captures  {rate:,.0f}/s  Ctrl+C stops\x1b[K"
        )
        self._stream.flush()

    def clear(self) -> None:
        if self.shown and self._last:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def cmd_import(args: argparse.Namespace) -> int:
    # The window's import job (same batches); here with a bar on a terminal and Ctrl+C.
    from inspector.core.jobs import Cancelled, ImportTally, import_job, import_summary
    from inspector.core.store import Store

    tally = ImportTally()
    bar = _ImportBar(tally, sys.stderr)

    def interrupt(signum: int, frame: Any) -> None:
        del signum, frame
        if bar.stop.is_set():
            raise KeyboardInterrupt
        bar.stop.set()

    previous = signal.signal(signal.SIGINT, interrupt)
    try:
        with Store.open(_data_dir(args)) as store:
            result = import_job(bar, store, args.file, tally)
    except Cancelled:
        bar.clear()
        where = f" after {tally.where}" if tally.where else ""
        print(
            f"{import_summary(tally.result())}; cancelled{where}: those captures are stored, "
            f"the rest of {args.file} was not read (importing it again skips what is stored)"
        )
        return 130
    except BaseException:
        bar.clear()
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    bar.clear()
    print(import_summary(result))
    return EXIT_OK


# --- profiles, follow-up, sandbox -------------------------------------------------------


def _secret_from(env: str, prompt: str) -> str:
    import getpass

    value = os.environ.get(env)
    if value:
        return value
    if not sys.stdin.isatty():
        raise InspectorError(f"{prompt} is needed: set {env} or run this in a terminal.")
    return getpass.getpass(f"{prompt}: ")


def cmd_profile(args: argparse.Namespace) -> int:
    from inspector.core.fluent.client import ENV_CLIENT_SECRET, ENV_PASSWORD
    from inspector.core.fluent.profiles import Profile, ProfileStore
    from inspector.core.secrets import SecretStore

    store = ProfileStore(_data_dir(args))
    secrets = SecretStore()
    if args.profile_command == "add":
        profile = store.add(
            Profile(
                name=args.name,
                base_url=args.base_url,
                client_id=args.client_id,
                username=args.username,
                retailer_id=args.retailer_id,
                bearer_token_mode=args.bearer_token,
            ).validated(),
            replace_existing=args.replace,
        )
        if not secrets.persistent:
            _err(
                f"{secrets.reason} Profile saved without secrets: set {ENV_CLIENT_SECRET} and "
                f"{ENV_PASSWORD} when you run follow-up."
            )
        elif profile.bearer_token_mode:
            secrets.set(profile.name, "token", _secret_from("FLUENT_TOKEN", "Bearer token"))
        else:
            secrets.set(
                profile.name, "client_secret", _secret_from(ENV_CLIENT_SECRET, "Client secret")
            )
            secrets.set(profile.name, "password", _secret_from(ENV_PASSWORD, "Password"))
        print(f"added profile {profile.name}: {profile.base_url}")
    elif args.profile_command == "list":
        profiles = store.list()
        if not profiles:
            print("no profiles yet: fluent-inspector profile add NAME --base-url URL ...")
        for profile in profiles:
            who = (
                "bearer token"
                if profile.bearer_token_mode
                else f"{profile.username} / {profile.client_id}"
            )
            retailer = f"  retailer {profile.retailer_id}" if profile.retailer_id else ""
            print(f"{profile.name}  {profile.base_url}  {who}{retailer}")
    elif args.profile_command == "remove":
        store.remove(args.name)
        with contextlib.suppress(Exception):
            secrets.delete_profile(args.name)
        print(f"removed profile {args.name}")
    return EXIT_OK


def _stored_capture(store: Any, prefix: str) -> Capture:
    """The capture an id or unique id prefix names, or an InspectorError saying why not."""
    capture_id = store.resolve_id(prefix)
    capture: Capture | None = store.get(capture_id)
    if capture is None:  # deleted between the two reads
        raise InspectorError(f"No capture with id {capture_id!r} in {store.path}.")
    return capture


def cmd_follow_up(args: argparse.Namespace) -> int:
    from inspector.core.fluent.errors import FluentApiError
    from inspector.core.fluent.profiles import ProfileStore
    from inspector.core.fluent.queries import template_for, variables_for
    from inspector.core.fluent.sync import SyncFluentClient
    from inspector.core.secrets import SecretStore
    from inspector.core.store import Store

    data_dir = _data_dir(args)
    with Store.open(data_dir) as store:
        capture = _stored_capture(store, args.capture_id)
    profiles = ProfileStore(data_dir)
    if args.profile:
        profile = profiles.get(args.profile)
    else:
        available = profiles.list()
        if len(available) != 1:
            if not available:
                raise InspectorError(
                    "No connection profile yet: add your Fluent account with 'fluent-inspector "
                    "profile add NAME --base-url URL --client-id ID --username USER', or try "
                    "the offline one: 'fluent-inspector sandbox --add-profile demo'."
                )
            raise InspectorError(
                f"Say which profile to use with --profile NAME (one of: "
                f"{', '.join(p.name for p in available)})."
            )
        profile = available[0]
    if args.query is not None:
        query = _read_input(str(args.query), QUERY_READ_LIMIT, "a query").decode(
            "utf-8", errors="replace"
        )
    elif capture.event is not None:
        query = template_for(capture.event.entity_type).query_text
    else:
        raise InspectorError("This capture is not a Fluent event: pass --query FILE.")
    if args.variables is not None:
        try:
            variables = json.loads(args.variables)
        except ValueError as exc:
            raise InspectorError(f"--variables is not JSON ({exc}).") from exc
    elif capture.event is not None:
        variables = variables_for(capture.event)
    else:
        variables = {}
    with SyncFluentClient(profile, SecretStore(), data_dir=data_dir) as client:
        try:
            result = client.execute(query, variables)
        except FluentApiError as exc:
            _err(str(exc))
            return EXIT_NOT_VALID
    print(json.dumps({"data": result.data, "errors": result.errors or None}, indent=2))
    if result.errors:
        _err(result.error_summary())
        for explanation in result.explanations():
            _err(explanation)
        return EXIT_NOT_VALID
    return EXIT_OK


# --- diff / timeline --------------------------------------------------------------------


def cmd_diff(args: argparse.Namespace) -> int:
    from inspector.core.diff import diff_captures, encode_diff, render_text
    from inspector.core.store import Store

    with Store.open(_data_dir(args)) as store:
        a = _stored_capture(store, args.a)
        b = _stored_capture(store, args.b)
    diff = diff_captures(a, b)
    if args.json:
        print(json.dumps(encode_diff(diff), ensure_ascii=False))
    else:
        ids = ShortIds()
        print(render_text(diff, a_id=ids.short(a.id), b_id=ids.short(b.id)))
    return EXIT_OK


def cmd_timeline(args: argparse.Namespace) -> int:
    from inspector.core.store import Store
    from inspector.core.store.entities import TIMELINE_LIMIT
    from inspector.core.timeline import build_timeline, encode_lines, render_text

    with Store.open(_data_dir(args)) as store:
        rows = store.entity_rows(args.ref)
    if not rows:
        _err(escape_control(f"no captures with root entity ref or entity ref {args.ref!r}"))
        return EXIT_NOT_VALID
    if len(rows) >= TIMELINE_LIMIT:
        _err(f"showing the oldest {TIMELINE_LIMIT} captures only")
    timeline = build_timeline(args.ref, rows)
    if args.json:
        for line in encode_lines(timeline):
            print(line)
    else:
        ids = ShortIds()
        print(render_text(timeline, [ids.short(entry.row.id) for entry in timeline.entries]))
    return EXIT_OK


def cmd_sandbox(args: argparse.Namespace) -> int:
    from inspector.core.fluent.profiles import Profile, ProfileStore
    from inspector.core.sandbox import Sandbox

    sandbox = Sandbox(args.port).start()
    done = threading.Event()
    previous = {
        sig: signal.signal(sig, lambda *_: done.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        print(f"Sandbox Fluent account at {sandbox.base_url} (OAuth + GraphQL) - Ctrl+C stops")
        print(
            f"  client id {sandbox.client_id}, client secret {sandbox.client_secret}, "
            f"username {sandbox.username}, password {sandbox.password} (demo values, not secrets)"
        )
        if args.add_profile:
            ProfileStore(_data_dir(args)).add(
                Profile(
                    args.add_profile,
                    sandbox.base_url,
                    sandbox.client_id,
                    sandbox.username,
                    sandbox.retailer_id,
                ).validated(),
                replace_existing=True,
            )
            print(
                f"  profile {args.add_profile!r} saved; run follow-ups with "
                f"FLUENT_CLIENT_SECRET={sandbox.client_secret} FLUENT_PASSWORD={sandbox.password}"
            )
        sys.stdout.flush()
        if args.emit_to:

            def report(delivery: Any) -> None:
                answer = delivery.status if delivery.status is not None else delivery.error
                print(
                    f"  sent {delivery.name} {delivery.entity_type} {delivery.entity_id} "
                    f"(event {delivery.event_id}, attempt {delivery.attempt}) -> {answer}",
                    flush=True,
                )

            playing = sandbox.play(
                args.scenario, args.emit_to, step_seconds=args.step_seconds, on_delivery=report
            )
            playing.add_done_callback(lambda _: print("scenario finished", flush=True))
        while not done.wait(0.5):
            pass
    finally:
        sandbox.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "gui": cmd_gui,
    "listen": cmd_listen,
    "replay": cmd_replay,
    "verify": cmd_verify,
    "keys": cmd_keys,
    "export": cmd_export,
    "import": cmd_import,
    "profile": cmd_profile,
    "follow-up": cmd_follow_up,
    "diff": cmd_diff,
    "timeline": cmd_timeline,
    "sandbox": cmd_sandbox,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    arguments = list(sys.argv[1:] if argv is None else argv)
    wants_help = bool(arguments) and arguments[0] in ("-h", "--help", "--version")
    if not wants_help and not any(a in COMMANDS for a in arguments):
        # No command named: the window, with whatever options were given for it.
        arguments.insert(0, "gui")
    args = parser.parse_args(arguments)
    if args.command != "gui":
        _log_to_stderr()
    try:
        return COMMANDS[args.command](args)
    except InspectorError as exc:
        _err(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `export | head`: the reader left; that is not an error worth a traceback.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
