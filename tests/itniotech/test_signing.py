"""Signing: the spec's vector, the four headers, a fresh timestamp for every request."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
from aioresponses import aioresponses

from voicegw.models import Speech, VoiceNotification
from voicegw_itniotech.auth import (
    CONTENT_TYPE,
    HEADER_NAMES,
    sign,
    sign_headers,
    signature_matches,
    timestamp_for,
)
from voicegw_itniotech.provider import ItniotechProvider

from .samples import API_KEY, API_SECRET, BASE, SIGN, TIMESTAMP, Ticking, envelope, make_settings


def test_published_vector() -> None:
    assert sign(API_KEY, API_SECRET, TIMESTAMP) == SIGN
    assert sign(API_KEY, API_SECRET, str(TIMESTAMP)) == SIGN


def test_sign_is_md5_of_key_secret_timestamp_concatenated() -> None:
    material = b"bDqJFiq97bz1lzh91630468800"
    digest = hashlib.md5(material, usedforsecurity=False).hexdigest()
    assert sign(API_KEY, API_SECRET, TIMESTAMP) == digest
    assert sign(API_KEY, API_SECRET, TIMESTAMP + 1) != SIGN
    assert sign(API_SECRET, API_KEY, TIMESTAMP) != SIGN  # the order matters


def test_the_four_headers_of_the_spec() -> None:
    headers = sign_headers(API_KEY, API_SECRET, now=TIMESTAMP)
    assert headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "Sign": SIGN,
        "Timestamp": "1630468800",
        "Api-Key": "bDqJFiq9",
    }
    assert tuple(headers) == HEADER_NAMES
    assert headers["Content-Type"] == CONTENT_TYPE


def test_the_secret_is_never_a_header_value() -> None:
    headers = sign_headers(API_KEY, API_SECRET, now=TIMESTAMP)
    assert all(API_SECRET not in value for value in headers.values())


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (1630468800.999, 1630468800),
        (1630468800, 1630468800),
        (datetime(2021, 9, 1, 4, 0, tzinfo=UTC), 1630468800),
        (datetime(2021, 9, 1, 12, 0, tzinfo=timezone(timedelta(hours=8))), 1630468800),
    ],
)
def test_timestamps_are_unix_seconds(now: float | datetime, expected: int) -> None:
    assert timestamp_for(now) == expected


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        timestamp_for(datetime(2021, 9, 1, 4, 0))


@pytest.mark.parametrize(
    ("received", "ok"),
    [
        (SIGN, True),
        (SIGN.upper(), True),  # "case insensitive", says the account page
        (SIGN[:-1] + "d", False),
        (SIGN[:-1], False),
        ("", False),
        ("z" * 32, False),
        ("é" * 32, False),
    ],
)
def test_signature_check_as_the_platform_does_it(received: str, ok: bool) -> None:
    assert signature_matches(API_KEY, API_SECRET, str(TIMESTAMP), received) is ok


async def test_every_request_is_signed_afresh(mocked: aioresponses) -> None:
    clock = Ticking(step=1.0)
    provider = ItniotechProvider("itn", make_settings(), clock=clock)
    for _ in range(2):
        mocked.post(f"{BASE}/voice/sendCode", payload=envelope("2203031113381000002"))
    note = VoiceNotification("+84912345678", [Speech("Xin chào", "vi")])
    try:
        await provider.send(note)
        await provider.send(note)
    finally:
        await provider.aclose()
    calls = mocked.requests[("POST", next(iter(mocked.requests))[1])]
    stamps = [call.kwargs["headers"]["Timestamp"] for call in calls]
    signs = [call.kwargs["headers"]["Sign"] for call in calls]
    assert stamps == ["1630468800", "1630468801"]
    assert signs[0] == SIGN
    assert signs[1] == sign(API_KEY, API_SECRET, 1630468801)
    assert clock.readings == 2
