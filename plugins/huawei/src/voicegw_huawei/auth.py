"""Huawei Voice Call authentication: the ``X-AKSK`` request header and push verification.

Requests (spec §2.1–2.2) carry a fixed ``Authorization`` header and an ``X-AKSK`` header::

    X-AKSK: UsernameToken Username="<APP_Key>",PasswordDigest="<digest>",Nonce="<nonce>",
            Created="<yyyy-MM-ddTHH:mm:ssZ>"
    PasswordDigest = Base64(HMAC-SHA256(APP_Secret, Nonce + Created))

The platform signs its pushes (§2.5) with the same header shape, but the digest covers the push
URL too; two variants of the message are documented (with and without ``"\\n"`` separators),
so :func:`verify_push` accepts either, comparing in constant time.

Everything here is pure: the clock and the nonce are arguments.

>>> nonce, created = "4f0c2e9b7a1d4c3e8b6a5f4e3d2c1b0a", "2024-03-05T08:15:42Z"
>>> password_digest("S3cr3tS3cr3tS3cr3t", nonce, created)
'9kfrhjoqitk8XNvyd/Hgu5dBnhQawRQXZuCkwmz/vVw='
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta, timezone

__all__ = [
    "AUTHORIZATION",
    "BEIJING",
    "CONTENT_TYPE",
    "PUSH_VARIANTS",
    "digest_matches",
    "format_created",
    "header",
    "new_nonce",
    "parse_authorization",
    "parse_created",
    "parse_x_aksk",
    "password_digest",
    "push_digest",
    "push_message",
    "sign_headers",
    "sign_push_headers",
    "valid_nonce",
    "verify_push",
    "x_aksk_header",
]

CONTENT_TYPE = "application/json;charset=UTF-8"
#: The fixed ``Authorization`` header of every request and push.
AUTHORIZATION = 'AKSK realm="SDP",profile="UsernameToken",type="Appkey"'
#: Beijing time (UTC+8), which some of Huawei's pages use for ``Created``.
BEIJING = timezone(timedelta(hours=8))

CREATED_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_PAIR = re.compile(r'(\w+)\s*=\s*"([^"]*)"')
_NONCE = re.compile(r"^[0-9A-Za-z]{1,128}$")

#: The documented push-signature messages: ``url\\nnonce\\ncreated`` and ``url+nonce+created``.
PUSH_VARIANTS: tuple[str, ...] = ("newline", "plain")


def new_nonce() -> str:
    """A fresh random nonce: 32 lowercase hex characters, as Huawei's own sample makes."""
    return secrets.token_hex(16)


def format_created(now: datetime, *, beijing: bool = False) -> str:
    """``now`` as ``Created``: ``yyyy-MM-ddTHH:mm:ssZ`` in UTC (or Beijing time, literal ``Z``).

    >>> format_created(datetime(2024, 3, 5, 8, 15, 42, 999, tzinfo=UTC))
    '2024-03-05T08:15:42Z'
    >>> format_created(datetime(2024, 3, 5, 8, 15, 42, tzinfo=UTC), beijing=True)
    '2024-03-05T16:15:42Z'
    """
    return now.astimezone(BEIJING if beijing else UTC).strftime(CREATED_FORMAT)


def parse_created(value: str) -> datetime | None:
    """``Created`` read as a UTC time (None when it is not in Huawei's format)."""
    try:
        return datetime.strptime(value, CREATED_FORMAT).replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return None


def password_digest(app_secret: str, nonce: str, created: str) -> str:
    """Base64 of the raw HMAC-SHA256 of ``nonce + created`` keyed with ``app_secret``."""
    mac = hmac.new(app_secret.encode("utf-8"), (nonce + created).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def x_aksk_header(app_key: str, digest: str, nonce: str, created: str) -> str:
    """The ``X-AKSK`` header value (pairs joined with ``,`` as Huawei's Python sample does)."""
    return (
        f'UsernameToken Username="{app_key}",PasswordDigest="{digest}",'
        f'Nonce="{nonce}",Created="{created}"'
    )


def sign_headers(
    app_key: str,
    app_secret: str,
    *,
    now: datetime,
    nonce: str,
    beijing: bool = False,
) -> dict[str, str]:
    """The three headers of a request to the platform, signed for ``now`` and ``nonce``.

    ``beijing`` writes ``Created`` in UTC+8 instead of UTC (spec §2.2 leaves the clock basis
    unverified; UTC is what most pages say and the default).
    """
    created = format_created(now, beijing=beijing)
    digest = password_digest(app_secret, nonce, created)
    return {
        "Content-Type": CONTENT_TYPE,
        "Authorization": AUTHORIZATION,
        "X-AKSK": x_aksk_header(app_key, digest, nonce, created),
    }


def header(headers: Mapping[str, str], name: str) -> str | None:
    """The value of header ``name`` in any letter case (None when absent)."""
    value = headers.get(name)
    if value is not None:
        return value
    wanted = name.lower()
    for key, item in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return item
    return None


def parse_x_aksk(value: str) -> dict[str, str] | None:
    """The ``key="value"`` pairs of an ``X-AKSK`` header; None unless it starts ``UsernameToken``.

    Pairs are split on commas with optional whitespace: Huawei's Python sample writes ``,``,
    its Go sample ``, `` (spec §2.1).
    """
    text = value.strip()
    if not text.startswith("UsernameToken"):
        return None
    return dict(_PAIR.findall(text[len("UsernameToken") :]))


def parse_authorization(value: str) -> dict[str, str] | None:
    """The pairs of an ``Authorization: AKSK …`` header; None unless it starts with ``AKSK``."""
    text = value.strip()
    if not text.startswith("AKSK"):
        return None
    return dict(_PAIR.findall(text[len("AKSK") :]))


def digest_matches(expected: str, got: str) -> bool:
    """Constant-time comparison of two digests (any text; never raises)."""
    return hmac.compare_digest(expected.encode("utf-8", "replace"), got.encode("utf-8", "replace"))


def valid_nonce(nonce: str) -> bool:
    """True for 1–128 characters of ``0-9a-zA-Z`` (spec §2.2)."""
    return bool(_NONCE.match(nonce))


def push_message(url: str, nonce: str, created: str, variant: str) -> str:
    """The text a push signature covers, in one of :data:`PUSH_VARIANTS`."""
    if variant == "newline":
        return f"{url}\n{nonce}\n{created}"
    if variant == "plain":
        return f"{url}{nonce}{created}"
    raise ValueError(f"unknown push-signature variant {variant!r}")


def push_digest(app_secret: str, url: str, nonce: str, created: str, variant: str) -> str:
    """Base64(HMAC-SHA256(app_secret, message)) for a push to ``url``."""
    message = push_message(url, nonce, created, variant)
    mac = hmac.new(app_secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def sign_push_headers(
    app_key: str,
    app_secret: str,
    url: str,
    *,
    now: datetime,
    nonce: str,
    variant: str = "newline",
    beijing: bool = True,
) -> dict[str, str]:
    """Headers of a push as the platform signs it (spec §2.5; the emulator's side).

    The push pages describe ``Created`` as Beijing time with a literal ``Z``: the default.
    """
    created = format_created(now, beijing=beijing)
    digest = push_digest(app_secret, url, nonce, created, variant)
    return {
        "Content-Type": CONTENT_TYPE,
        "Authorization": AUTHORIZATION,
        "X-AKSK": x_aksk_header(app_key, digest, nonce, created),
    }


def verify_push(
    headers: Mapping[str, str],
    url: str,
    app_secrets: Iterable[str],
    *,
    variants: Iterable[str] = PUSH_VARIANTS,
) -> str | None:
    """The variant whose signature matches, or None. Never raises on malformed input.

    Every secret (the app secrets, plus retired ones during a rotation) is tried with every
    allowed variant; each comparison is constant-time and all of them run, so the time taken
    does not reveal which candidate came close.
    """
    raw = header(headers, "X-AKSK")
    if not isinstance(raw, str):
        return None
    fields = parse_x_aksk(raw)
    if fields is None:
        return None
    nonce = fields.get("Nonce", "")
    created = fields.get("Created", "")
    got = fields.get("PasswordDigest", "")
    if not (nonce and created and got):
        return None
    matched: str | None = None
    for secret in app_secrets:
        if not secret:
            continue
        for variant in variants:
            expected = push_digest(secret, url, nonce, created, variant)
            if digest_matches(expected, got) and matched is None:
                matched = variant
    return matched
