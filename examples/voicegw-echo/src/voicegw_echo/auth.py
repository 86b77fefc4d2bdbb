"""Request and push signing: pure functions over bytes and a timestamp, no clock, no I/O.

Every request carries three headers. The signature is the hex HMAC-SHA256, keyed with the
account's secret, of four lines: the method, the URL path, the timestamp (POSIX seconds) and
the hex SHA-256 of the body::

    POST
    /v1/calls
    1700000000
    5d41402abc4b2a76b9719d911017c592...

The API refuses a request whose timestamp is more than five minutes away from its own clock.
Pushes carry one header: the hex HMAC-SHA256 of the URL they were sent to, a newline and the
body, so a push replayed to another URL does not verify.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = [
    "ACCOUNT_HEADER",
    "PUSH_SIGNATURE_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "push_signature",
    "push_signature_valid",
    "request_signature",
    "sign_request",
]

ACCOUNT_HEADER = "X-Echo-Account"
TIMESTAMP_HEADER = "X-Echo-Timestamp"
SIGNATURE_HEADER = "X-Echo-Signature"
PUSH_SIGNATURE_HEADER = "X-Echo-Push-Signature"


def request_signature(secret: str, method: str, path: str, timestamp: str, body: bytes) -> str:
    """The signature of one request, as the API computes it."""
    canonical = "\n".join(
        [method.upper(), path, timestamp, hashlib.sha256(body).hexdigest()]
    ).encode()
    return hmac.new(secret.encode(), canonical, hashlib.sha256).hexdigest()


def sign_request(
    account_id: str, secret: str, method: str, path: str, body: bytes, *, now: float
) -> dict[str, str]:
    """The authentication headers for one request sent at ``now`` (POSIX seconds).

    >>> sorted(sign_request("AC1", "s3cret", "GET", "/v1/calls/CA1", b"", now=1700000000))
    ['X-Echo-Account', 'X-Echo-Signature', 'X-Echo-Timestamp']
    """
    timestamp = str(int(now))
    return {
        ACCOUNT_HEADER: account_id,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: request_signature(secret, method, path, timestamp, body),
    }


def push_signature(secret: str, url: str, body: bytes) -> str:
    """The signature of a push delivered to ``url``."""
    return hmac.new(secret.encode(), url.encode() + b"\n" + body, hashlib.sha256).hexdigest()


def push_signature_valid(secret: str, url: str, body: bytes, given: str) -> bool:
    """True when ``given`` is the push's signature (compared in constant time)."""
    expected = push_signature(secret, url, body)
    return hmac.compare_digest(given.encode("utf-8", "replace"), expected.encode())
