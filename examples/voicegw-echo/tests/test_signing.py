"""Request and push signatures, and the secret that must never show."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from voicegw.errors import ValidationError

from voicegw_echo.auth import (
    ACCOUNT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    push_signature,
    push_signature_valid,
    request_signature,
    sign_request,
)
from voicegw_echo.settings import EchoSettings

SECRET = "s3cret-for-tests"
BODY = b'{"to":"+447700900123"}'
HOOK = "https://hooks.example.com/hooks/echo/record"


def test_request_signature_is_hmac_over_the_four_lines() -> None:
    canonical = b"POST\n/v1/calls\n1700000000\n" + hashlib.sha256(BODY).hexdigest().encode()
    expected = hmac.new(SECRET.encode(), canonical, hashlib.sha256).hexdigest()
    assert request_signature(SECRET, "post", "/v1/calls", "1700000000", BODY) == expected


def test_request_signature_known_vector() -> None:
    # Computed with openssl (see the guide), so a change to the canonical string shows.
    signature = request_signature("key", "GET", "/v1/calls/CA1", "1700000000", b"")
    assert signature == "fe8bc51fd1e43f9c5735693ab782d213e83d2044341612edb7ee538a9c78d998"


def test_sign_request_headers() -> None:
    headers = sign_request("AC1", SECRET, "POST", "/v1/calls", BODY, now=1700000000.9)
    assert headers[ACCOUNT_HEADER] == "AC1"
    assert headers[TIMESTAMP_HEADER] == "1700000000"
    expected = request_signature(SECRET, "POST", "/v1/calls", "1700000000", BODY)
    assert headers[SIGNATURE_HEADER] == expected


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (HOOK + "?x=1", BODY),
        (HOOK.replace("hooks.example.com", "attacker.example"), BODY),
        (HOOK, BODY + b" "),
    ],
)
def test_push_signature_covers_url_and_body(url: str, body: bytes) -> None:
    signature = push_signature(SECRET, HOOK, BODY)
    assert push_signature_valid(SECRET, HOOK, BODY, signature)
    assert not push_signature_valid(SECRET, url, body, signature)


def test_push_signature_refuses_garbage() -> None:
    assert not push_signature_valid(SECRET, "https://h.example/x", BODY, "")
    assert not push_signature_valid(SECRET, "https://h.example/x", BODY, "ünïcode")


def test_secret_is_never_in_the_repr() -> None:
    settings = EchoSettings(account_id="AC1", api_secret=SECRET)
    assert SECRET not in repr(settings)
    assert "AC1" in repr(settings)


@pytest.mark.parametrize("field", ["account_id", "api_secret"])
def test_empty_credentials_are_refused_naming_the_field(field: str) -> None:
    values = {"account_id": "AC1", "api_secret": SECRET, field: " "}
    with pytest.raises(ValidationError, match=rf"^{field} must be a non-empty string"):
        EchoSettings(account_id=values["account_id"], api_secret=values["api_secret"])


def test_callback_url_must_be_http() -> None:
    with pytest.raises(ValidationError, match=r"^callback_url "):
        EchoSettings(account_id="AC1", api_secret=SECRET, callback_url="ftp://x.example")
