"""Verify Fluent's two signature headers over the exact raw body bytes.

``flex.signature`` is RSA PKCS#1 v1.5 with MD5 and ``fluent-signature`` RSA PKCS#1 v1.5 with
SHA-512, each standard base64. This runs twice per request on the listener's event loop, so
the common path decodes once, skips keys of the wrong size and does no logging; the extra
diagnosis that makes ``detail`` useful runs only when something is wrong.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import replace

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from inspector.core.capture import SignatureCheck, SignatureHeader, Verdict
from inspector.core.keys import PublicKey

__all__ = ["check_signature", "sign_headers", "verify_headers"]

_PADDING = padding.PKCS1v15()
_HASHES: dict[SignatureHeader, hashes.HashAlgorithm] = {
    SignatureHeader.FLEX: hashes.MD5(),
    SignatureHeader.FLUENT: hashes.SHA512(),
}
_MD5 = _HASHES[SignatureHeader.FLEX]
_SHA512 = _HASHES[SignatureHeader.FLUENT]
_HASH_NAMES = {SignatureHeader.FLEX: "MD5", SignatureHeader.FLUENT: "SHA-512"}
_OTHER = {
    SignatureHeader.FLEX: SignatureHeader.FLUENT,
    SignatureHeader.FLUENT: SignatureHeader.FLEX,
}
_EXACT = {header.value: header for header in SignatureHeader}

# Header names proxies and frameworks produce from the real ones (dot or dash turned into
# an underscore, dropped, or prefixed), compared after removing '.', '-' and '_'.
_REWRITTEN = {
    SignatureHeader.FLEX: frozenset(
        {"flexsignature", "xflexsignature", "httpflexsignature", "httpxflexsignature"}
    ),
    SignatureHeader.FLUENT: frozenset(
        {"fluentsignature", "xfluentsignature", "httpfluentsignature", "httpxfluentsignature"}
    ),
}

_PROXY_NOTE = (
    "proxies drop or rewrite header names containing a dot (nginx ignores them unless "
    "'ignore_invalid_headers off;' is set, and names with underscores unless "
    "'underscores_in_headers on;'; CGI/WSGI-style servers turn the dot into an underscore)"
)

_RENAME_NOTE = (
    "a proxy or a CGI/WSGI-style server rewrote the header name (dashes become underscores; "
    "nginx drops names with underscores unless 'underscores_in_headers on;' is set)"
)


def sign_headers(private_key: RSAPrivateKey, body: bytes) -> list[tuple[str, str]]:
    """Both signature headers for ``body``, as Fluent would send them."""
    return [
        (header.value, _b64(private_key.sign(body, _PADDING, _HASHES[header])))
        for header in SignatureHeader
    ]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def verify_headers(
    headers: Sequence[tuple[str, str]], body: bytes, keys: Sequence[PublicKey]
) -> tuple[SignatureCheck, SignatureCheck]:
    """Check both signature headers; returns (flex check, fluent check). Never raises."""
    try:
        return _verify_headers(headers, body, keys)
    except Exception as exc:  # a verdict must always come back, even on odd input
        detail = f"The signatures could not be checked ({type(exc).__name__}: {exc})."
        return (
            SignatureCheck(SignatureHeader.FLEX, Verdict.INVALID, detail=detail),
            SignatureCheck(SignatureHeader.FLUENT, Verdict.INVALID, detail=detail),
        )


_FLEX_NAME = SignatureHeader.FLEX.value
_FLUENT_NAME = SignatureHeader.FLUENT.value


def _verify_headers(
    headers: Sequence[tuple[str, str]], body: bytes, keys: Sequence[PublicKey]
) -> tuple[SignatureCheck, SignatureCheck]:
    # The usual webhook has each header exactly once: check that with plain locals (enum
    # members hash in Python, and this runs for every request); anything else takes the
    # general path below, which explains duplicates and rewritten names.
    flex_pair: tuple[str, str] | None = None
    fluent_pair: tuple[str, str] | None = None
    unusual = False
    for name, value in headers:
        lowered = name.lower()
        if lowered == _FLEX_NAME:
            unusual = unusual or flex_pair is not None
            flex_pair = (name, value)
        elif lowered == _FLUENT_NAME:
            unusual = unusual or fluent_pair is not None
            fluent_pair = (name, value)
    if flex_pair is not None and fluent_pair is not None and not unusual:
        flex = check_signature(SignatureHeader.FLEX, flex_pair[1], body, keys, flex_pair[0])
        fluent = check_signature(SignatureHeader.FLUENT, fluent_pair[1], body, keys, fluent_pair[0])
        if flex.verdict is Verdict.VALID and fluent.verdict is Verdict.VALID:
            return flex, fluent
        return _cross_explain(flex, fluent)
    return _verify_unusual(headers, body, keys)


def _verify_unusual(
    headers: Sequence[tuple[str, str]], body: bytes, keys: Sequence[PublicKey]
) -> tuple[SignatureCheck, SignatureCheck]:
    found: dict[SignatureHeader, tuple[str, str]] = {}
    counts: dict[SignatureHeader, int] = {}
    rewritten: dict[SignatureHeader, tuple[str, str]] = {}
    for name, value in headers:
        lowered = name.lower()
        header = _EXACT.get(lowered)
        if header is not None:
            counts[header] = counts.get(header, 0) + 1
            if header not in found:
                found[header] = (name, value)
        elif "signature" in lowered:
            squashed = lowered.replace(".", "").replace("-", "").replace("_", "")
            for candidate, forms in _REWRITTEN.items():
                if squashed in forms and candidate not in rewritten:
                    rewritten[candidate] = (name, value)

    flex = _check_one(SignatureHeader.FLEX, found, counts, rewritten, body, keys)
    fluent = _check_one(SignatureHeader.FLUENT, found, counts, rewritten, body, keys)
    flex, fluent = _cross_explain(flex, fluent)
    return flex, fluent


def _check_one(
    header: SignatureHeader,
    found: dict[SignatureHeader, tuple[str, str]],
    counts: dict[SignatureHeader, int],
    rewritten: dict[SignatureHeader, tuple[str, str]],
    body: bytes,
    keys: Sequence[PublicKey],
) -> SignatureCheck:
    present = found.get(header)
    if present is not None:
        check = check_signature(header, present[1], body, keys, present[0])
        count = counts.get(header, 1)
        if count > 1:
            check = replace(
                check,
                detail=f"{check.detail} The header arrived {count} times; only the first value "
                "was checked (Fluent sends it once, so something in between added a copy).",
            )
        return check
    other = _OTHER[header]
    if header in rewritten:
        return _rewritten_check(header, rewritten[header], body, keys)
    if other in found or other in rewritten:
        if header is SignatureHeader.FLEX:
            detail = (
                "Only fluent-signature arrived; flex.signature is missing. Fluent sends both, "
                f"so a proxy probably dropped it: {_PROXY_NOTE}."
            )
        else:
            detail = (
                "Only flex.signature arrived; fluent-signature is missing. Fluent sends both on "
                "every webhook: check that a proxy is not stripping it, or that the sender "
                "really is Fluent."
            )
    else:
        detail = (
            f"No {header.value} header arrived, and neither did the other signature header: "
            "this request probably did not come from Fluent (or a proxy stripped both)."
        )
    return SignatureCheck(header, Verdict.MISSING, detail=detail)


def _rewritten_check(
    header: SignatureHeader,
    arrived: tuple[str, str],
    body: bytes,
    keys: Sequence[PublicKey],
) -> SignatureCheck:
    name, value = arrived
    inner = check_signature(header, value, body, keys, name)
    if inner.verdict is Verdict.VALID:
        outcome = f"its value verifies with key {inner.key_name!r}, so the body is authentic"
    elif inner.verdict is Verdict.NO_KEY:
        outcome = "its value could not be checked: no public keys are configured"
    else:
        outcome = f"its value is {inner.verdict.label} ({inner.detail.rstrip('.')})"
    what = "the dotted name" if header is SignatureHeader.FLEX else "the header name"
    hint = (
        f"arrived as {name!r}: a proxy rewrote {what}; configure it to pass "
        f"'{header.value}' through unchanged. {outcome[0].upper()}{outcome[1:]}."
    )
    note = _PROXY_NOTE if header is SignatureHeader.FLEX else _RENAME_NOTE
    detail = (
        f"No {header.value} header, but {name!r} arrived: {note}. Receivers looking "
        f"for '{header.value}' will not find it behind this proxy."
    )
    return SignatureCheck(header, Verdict.MISSING, detail=detail, hint=hint)


def _cross_explain(
    flex: SignatureCheck, fluent: SignatureCheck
) -> tuple[SignatureCheck, SignatureCheck]:
    """When one header verifies and the other does not, the body is authentic: say so."""
    if flex.verdict is Verdict.VALID and fluent.verdict is Verdict.INVALID:
        fluent = replace(
            fluent,
            detail=(
                f"fluent-signature does not verify although flex.signature does (key "
                f"{flex.key_name!r}), so the body is unchanged: the fluent-signature value was "
                "altered in transit or made with another algorithm than SHA-512 with RSA."
            ),
        )
    elif fluent.verdict is Verdict.VALID and flex.verdict is Verdict.INVALID:
        flex = replace(
            flex,
            detail=(
                f"flex.signature does not verify although fluent-signature does (key "
                f"{fluent.key_name!r}), so the body is unchanged: the flex.signature value was "
                "altered in transit or made with another algorithm than MD5 with RSA (some "
                "toolkits wrongly use SHA-1)."
            ),
        )
    return flex, fluent


def check_signature(
    header: SignatureHeader,
    value: str | None,
    body: bytes,
    keys: Sequence[PublicKey],
    received_name: str | None = None,
) -> SignatureCheck:
    """Check one signature header value over ``body`` with every key. Never raises."""
    try:
        return _check(header, value, body, keys, received_name)
    except Exception as exc:  # a verdict must always come back, even on a bug
        return SignatureCheck(
            header,
            Verdict.INVALID,
            received_name=received_name,
            detail=f"The signature could not be checked ({type(exc).__name__}: {exc}).",
        )


def _check(
    header: SignatureHeader,
    value: str | None,
    body: bytes,
    keys: Sequence[PublicKey],
    received_name: str | None,
) -> SignatureCheck:
    if value is None:
        return SignatureCheck(header, Verdict.MISSING, detail=f"No {header.value} header arrived.")
    text = value.strip()
    try:
        signature = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        signature = b""
    if not signature:
        return SignatureCheck(
            header, Verdict.MALFORMED, received_name=received_name, detail=_why_not_base64(text)
        )
    if not keys:
        return SignatureCheck(
            header,
            Verdict.NO_KEY,
            received_name=received_name,
            detail="No public keys are configured: add Fluent's public key for this "
            "environment (sandbox or production, and the account's region) to check it.",
        )
    size = len(signature)
    flex = header is SignatureHeader.FLEX
    algorithm = _MD5 if flex else _SHA512
    sized = 0
    errors: list[str] = []
    for key in keys:
        if key.signature_size != size:
            continue
        sized += 1
        try:
            key.key.verify(signature, body, _PADDING, algorithm)
        except InvalidSignature:
            continue
        except (UnsupportedAlgorithm, ValueError, TypeError) as exc:
            errors.append(f"{key.name}: {exc}")
            continue
        return _valid_check(flex, key.name, received_name)
    if not sized:
        return SignatureCheck(
            header,
            Verdict.MALFORMED,
            received_name=received_name,
            detail=_size_mismatch(size, keys),
        )
    if errors and len(errors) == sized:
        return SignatureCheck(
            header,
            Verdict.INVALID,
            received_name=received_name,
            detail=f"The signature could not be checked on this system ({'; '.join(errors)}): "
            f"its crypto library refuses {_HASH_NAMES[header]} with RSA (FIPS mode?).",
        )
    return SignatureCheck(
        header,
        Verdict.INVALID,
        received_name=received_name,
        detail=_invalid_detail(header, signature, body, keys),
    )


# A VALID check depends only on these three values, and it is immutable: share one instance
# per combination instead of building the same object (and detail text) per request.
_VALID_CACHE_LIMIT = 256
_valid_checks: dict[tuple[bool, str, str | None], SignatureCheck] = {}


def _valid_check(flex: bool, key_name: str, received_name: str | None) -> SignatureCheck:
    cache_key = (flex, key_name, received_name)
    check = _valid_checks.get(cache_key)
    if check is None:
        header = SignatureHeader.FLEX if flex else SignatureHeader.FLUENT
        check = SignatureCheck(
            header,
            Verdict.VALID,
            key_name=key_name,
            received_name=received_name,
            detail=f"Verified with key {key_name!r} ({_HASH_NAMES[header]} with RSA).",
        )
        if len(_valid_checks) >= _VALID_CACHE_LIMIT:
            _valid_checks.clear()
        _valid_checks[cache_key] = check
    return check


def _why_not_base64(text: str) -> str:
    intro = "The value is not standard base64, so it cannot be a signature from Fluent"
    if not text:
        return "The header is present but empty: Fluent always sends a base64 signature."
    if any(ch.isspace() for ch in text):
        return f"{intro}: it contains spaces or line breaks (something re-wrapped it)."
    if ("-" in text or "_" in text) and not set(text) - set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_="
    ):
        return (
            f"{intro}: it uses the URL-safe alphabet ('-' and '_'). Fluent sends standard "
            "base64 ('+' and '/'), and this check is strict, so something re-encoded it."
        )
    bad = sorted({ch for ch in text if not (ch.isascii() and (ch.isalnum() or ch in "+/="))})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad[:5])
        return f"{intro}: it contains characters outside the base64 alphabet ({shown})."
    if len(text) % 4:
        return (
            f"{intro}: its length ({len(text)} characters) is not a multiple of 4, so it is "
            "truncated or lost its '=' padding (Fluent sends padded base64; this check is "
            "strict)."
        )
    return f"{intro}: its '=' padding is misplaced or there is data after it."


def _size_mismatch(size: int, keys: Sequence[PublicKey]) -> str:
    expected = sorted({key.signature_size for key in keys})
    wanted = " or ".join(f"{n} bytes ({n * 8}-bit key)" for n in expected)
    return (
        f"The signature decodes to {size} bytes, but the configured keys expect {wanted}: "
        "the value is truncated or padded, or it was made with a key of another size (not "
        "one of your configured keys)."
    )


def _invalid_detail(
    header: SignatureHeader, signature: bytes, body: bytes, keys: Sequence[PublicKey]
) -> str:
    other = _OTHER[header]
    for key in keys:
        if key.signature_size != len(signature):
            continue
        try:
            key.key.verify(signature, body, _PADDING, _HASHES[other])
        except Exception:  # any failure here only means "not swapped"
            continue
        return (
            f"This is a valid {other.value} ({_HASH_NAMES[other]}) signature made with key "
            f"{key.name!r}, sent in the {header.value} header: the sender swapped the two "
            f"headers ({header.value} must use {_HASH_NAMES[header]})."
        )
    if len(keys) == 1:
        which = f"The configured key {keys[0].name!r} does not verify this body"
    else:
        names = ", ".join(repr(key.name) for key in keys)
        which = f"None of the {len(keys)} configured keys ({names}) verifies this body"
    return (
        f"{which}: most likely it is the wrong environment's or region's key, or the body was "
        "changed after signing (re-serialised JSON, an added newline, a re-encoding proxy)."
    )
