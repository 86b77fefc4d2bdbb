"""X-AKSK request signing (spec §2.2) and push verification (§2.5)."""

from __future__ import annotations

import hmac
import logging
import re
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from voicegw.errors import AuthenticationError
from voicegw_huawei import auth
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import ProductApp

from .conftest import ProviderFactory
from .samples import (
    APP_KEY,
    APP_SECRET,
    AUTHORIZATION,
    CREATED,
    DIGEST,
    NONCE,
    NOW,
    PUSH_CREATED,
    PUSH_DIGEST,
    PUSH_NONCE,
    PUSH_URL,
    X_AKSK,
    make_settings,
)


def test_password_digest_matches_the_spec_vector() -> None:
    assert auth.password_digest(APP_SECRET, NONCE, CREATED) == DIGEST
    assert len(DIGEST) == 44


def test_created_is_utc_without_fraction_with_a_literal_z() -> None:
    assert auth.format_created(NOW.replace(microsecond=999_999)) == CREATED
    assert auth.format_created(NOW, beijing=True) == "2024-03-05T16:15:42Z"


def test_signed_headers_are_exactly_the_spec_example() -> None:
    headers = auth.sign_headers(APP_KEY, APP_SECRET, now=NOW, nonce=NONCE)
    assert headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "Authorization": AUTHORIZATION,
        "X-AKSK": X_AKSK,
    }


def test_beijing_clock_changes_created_and_the_digest() -> None:
    headers = auth.sign_headers(APP_KEY, APP_SECRET, now=NOW, nonce=NONCE, beijing=True)
    fields = auth.parse_x_aksk(headers["X-AKSK"])
    assert fields is not None
    assert fields["Created"] == "2024-03-05T16:15:42Z"
    assert fields["PasswordDigest"] == auth.password_digest(APP_SECRET, NONCE, fields["Created"])


def test_nonces_are_fresh_32_hex_characters() -> None:
    nonces = {auth.new_nonce() for _ in range(50)}
    assert len(nonces) == 50
    assert all(re.fullmatch(r"[0-9a-f]{32}", n) for n in nonces)
    assert all(auth.valid_nonce(n) for n in nonces)


async def test_every_request_gets_a_fresh_nonce() -> None:
    provider = HuaweiProvider("hw", make_settings(), clock=lambda: NOW)
    try:
        first = provider._sign(provider.huawei.main_app(), NOW)["X-AKSK"]
        second = provider._sign(provider.huawei.main_app(), NOW)["X-AKSK"]
    finally:
        await provider.aclose()
    assert auth.parse_x_aksk(first) != auth.parse_x_aksk(second)


@pytest.mark.parametrize("separator", [",", ", ", " ,  "])
def test_x_aksk_parsing_tolerates_whitespace_between_pairs(separator: str) -> None:
    value = separator.join(
        [
            f'UsernameToken Username="{APP_KEY}"',
            f'PasswordDigest="{DIGEST}"',
            f'Nonce="{NONCE}"',
            f'Created="{CREATED}"',
        ]
    )
    assert auth.parse_x_aksk(value) == {
        "Username": APP_KEY,
        "PasswordDigest": DIGEST,
        "Nonce": NONCE,
        "Created": CREATED,
    }


def test_x_aksk_must_start_with_username_token() -> None:
    assert auth.parse_x_aksk(f'Username="{APP_KEY}"') is None
    assert auth.parse_authorization("Basic abc") is None
    assert auth.parse_authorization(AUTHORIZATION) == {
        "realm": "SDP",
        "profile": "UsernameToken",
        "type": "Appkey",
    }


def test_created_parsing() -> None:
    assert auth.parse_created(CREATED) == NOW
    assert auth.parse_created("2024-03-05 08:15:42") is None


# -- pushes ------------------------------------------------------------------------------------


def _push_headers(digest: str = PUSH_DIGEST, created: str = PUSH_CREATED) -> dict[str, str]:
    return {
        "Authorization": AUTHORIZATION,
        "X-AKSK": auth.x_aksk_header(APP_KEY, digest, PUSH_NONCE, created),
    }


def test_push_digest_matches_the_spec_vector() -> None:
    digest = auth.push_digest(APP_SECRET, PUSH_URL, PUSH_NONCE, PUSH_CREATED, "newline")
    assert digest == PUSH_DIGEST


def test_both_documented_push_variants_verify() -> None:
    assert auth.verify_push(_push_headers(), PUSH_URL, [APP_SECRET]) == "newline"
    plain = auth.push_digest(APP_SECRET, PUSH_URL, PUSH_NONCE, PUSH_CREATED, "plain")
    assert auth.verify_push(_push_headers(plain), PUSH_URL, [APP_SECRET]) == "plain"


def test_a_variant_can_be_excluded() -> None:
    plain = auth.push_digest(APP_SECRET, PUSH_URL, PUSH_NONCE, PUSH_CREATED, "plain")
    headers = _push_headers(plain)
    assert auth.verify_push(headers, PUSH_URL, [APP_SECRET], variants=("newline",)) is None


def test_push_verification_covers_the_url_and_the_secret() -> None:
    headers = _push_headers()
    assert auth.verify_push(headers, PUSH_URL + "x", [APP_SECRET]) is None
    assert auth.verify_push(headers, PUSH_URL, ["another-secret"]) is None


def test_rotation_any_secret_of_the_list_verifies() -> None:
    assert auth.verify_push(_push_headers(), PUSH_URL, ["old-secret", APP_SECRET]) == "newline"


def test_header_names_are_case_insensitive() -> None:
    headers = {"x-aksk": _push_headers()["X-AKSK"]}
    assert auth.verify_push(headers, PUSH_URL, [APP_SECRET]) == "newline"


def test_push_verification_compares_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    assert auth.verify_push(_push_headers(), PUSH_URL, ["old", APP_SECRET]) == "newline"
    # every candidate is compared (2 secrets × 2 variants), even after the match
    assert len(calls) == 4


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-AKSK": ""},
        {"X-AKSK": "Digest abc"},
        {"X-AKSK": 'UsernameToken Username="a"'},
        {"X-AKSK": 'UsernameToken Nonce="n",Created="c",PasswordDigest="\u00e9\u4e2d"'},
    ],
)
def test_malformed_push_headers_do_not_verify(headers: dict[str, str]) -> None:
    assert auth.verify_push(headers, PUSH_URL, [APP_SECRET]) is None


@given(value=st.text(max_size=200), url=st.text(max_size=50))
def test_verify_push_never_raises(value: str, url: str) -> None:
    assert auth.verify_push({"X-AKSK": value}, url, [APP_SECRET, "x"]) in (
        None,
        *auth.PUSH_VARIANTS,
    )


def test_signed_push_headers_verify() -> None:
    now = datetime(2024, 3, 5, 8, 21, 9, tzinfo=UTC)
    headers = auth.sign_push_headers(APP_KEY, APP_SECRET, PUSH_URL, now=now, nonce=PUSH_NONCE)
    assert headers["X-AKSK"] == auth.x_aksk_header(APP_KEY, PUSH_DIGEST, PUSH_NONCE, PUSH_CREATED)


# -- the provider's side ---------------------------------------------------------------------


async def test_provider_refuses_a_forged_push(provider: HuaweiProvider) -> None:
    with pytest.raises(AuthenticationError) as caught:
        provider.parse_webhook("status", _push_headers("forged" * 7), b"{}", PUSH_URL)
    assert caught.value.provider == "hw"
    assert caught.value.plugin == "huawei"


async def test_provider_accepts_every_app_secret_and_rotated_secrets(
    make_provider: ProviderFactory,
) -> None:
    other = ProductApp(app_key="notify-app", app_secret="notify-secret")
    provider = await make_provider(
        app_secret="new-main-secret", notification=other, push_secrets=["retired", APP_SECRET]
    )
    assert provider.verify_push(_push_headers(), PUSH_URL) == "newline"
    signed = auth.sign_push_headers("notify-app", "notify-secret", PUSH_URL, now=NOW, nonce="ab1")
    assert provider.verify_push(signed, PUSH_URL) == "newline"


async def test_provider_push_signature_mode_limits_the_variants(
    make_provider: ProviderFactory,
) -> None:
    provider = await make_provider(push_signature="plain")
    with pytest.raises(AuthenticationError):
        provider.verify_push(_push_headers(), PUSH_URL)
    plain = auth.push_digest(APP_SECRET, PUSH_URL, PUSH_NONCE, PUSH_CREATED, "plain")
    assert provider.verify_push(_push_headers(plain), PUSH_URL) == "plain"


async def test_verification_off_is_logged_and_skipped(
    make_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="voicegw.huawei")
    provider = await make_provider(push_signature="off")
    assert "push verification is off" in caplog.text
    body = b'{"eventType":"callout","statusInfo":{"sessionId":"s1"}}'
    events = provider.parse_webhook("status", {}, body, PUSH_URL)
    assert [e.call_id for e in events] == ["s1"]


async def test_no_secret_in_logs_or_errors(
    make_provider: ProviderFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    provider = await make_provider(push_signature="off", push_secrets=["rotated-secret-1"])
    with pytest.raises(AuthenticationError) as caught:
        (await make_provider()).parse_webhook("record", _push_headers("x"), b"{}", PUSH_URL)
    for text in (caplog.text, str(caught.value), repr(caught.value), repr(provider.settings)):
        assert APP_SECRET not in text
        assert "rotated-secret-1" not in text
