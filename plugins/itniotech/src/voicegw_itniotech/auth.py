"""Request signing: ``Sign = md5(Api-Key + Api-Secret + Timestamp)``, four headers per request.

Pure functions, no clock: the caller passes the time. Every request gets a fresh timestamp and
so a fresh signature; a signature is never cached or reused (the body is not signed, so a
captured header set would otherwise stay valid for the whole timestamp window).

The published test vector (spec §1.2):

>>> sign("bDqJFiq9", "7bz1lzh9", 1630468800)
'05d7a50893e22a5c4bb3216ae3396c7c'
>>> sign_headers("bDqJFiq9", "7bz1lzh9", now=1630468800.9)["Timestamp"]
'1630468800'
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from datetime import datetime

__all__ = [
    "CONTENT_TYPE",
    "HEADER_NAMES",
    "sign",
    "sign_headers",
    "signature_matches",
    "timestamp_for",
]

#: The ``Content-Type`` every sample sends, on POST and GET alike.
CONTENT_TYPE = "application/json;charset=UTF-8"
#: The four headers of every request, in the order the samples list them.
HEADER_NAMES = ("Content-Type", "Sign", "Timestamp", "Api-Key")

_HEX32 = re.compile(r"^[0-9a-fA-F]{32}$")


def sign(api_key: str, api_secret: str, timestamp: int | str) -> str:
    """The ``Sign`` header: lowercase hex MD5 of key, secret and timestamp, concatenated."""
    material = f"{api_key}{api_secret}{timestamp}".encode()
    return hashlib.md5(material, usedforsecurity=False).hexdigest()


def timestamp_for(now: float | datetime) -> int:
    """Unix seconds (floored) for ``now``, a POSIX time or an aware datetime."""
    if isinstance(now, datetime):
        if now.tzinfo is None:
            raise ValueError("timestamp_for needs a timezone-aware datetime")
        now = now.timestamp()
    return math.floor(now)


def sign_headers(api_key: str, api_secret: str, *, now: float | datetime) -> dict[str, str]:
    """The four request headers for a request sent at ``now``.

    The secret goes into the hash only; it is never a header value.
    """
    timestamp = str(timestamp_for(now))
    return {
        "Content-Type": CONTENT_TYPE,
        "Sign": sign(api_key, api_secret, timestamp),
        "Timestamp": timestamp,
        "Api-Key": api_key,
    }


def signature_matches(api_key: str, api_secret: str, timestamp: str, received: str) -> bool:
    """Whether ``received`` is the right ``Sign`` (hex compared case-insensitively, in
    constant time), as the platform checks it."""
    if not _HEX32.match(received):
        return False
    expected = sign(api_key, api_secret, timestamp)
    return hmac.compare_digest(expected.encode("ascii"), received.lower().encode("ascii"))
