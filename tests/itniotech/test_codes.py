"""Status codes: every row of the table, -16 re-signed once, and answers that are not envelopes."""

from __future__ import annotations

import pytest
from aioresponses import aioresponses

from voicegw.errors import (
    AuthenticationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    VoiceError,
)
from voicegw.models import Speech, VoiceNotification
from voicegw.plugins import default_registry
from voicegw_itniotech.auth import sign
from voicegw_itniotech.codes import API_CODES
from voicegw_itniotech.provider import ItniotechProvider

from .samples import API_KEY, API_SECRET, BASE, TIMESTAMP, Ticking, envelope, make_settings, sent

URL = f"{BASE}/voice/sendCode"
NOTE = VoiceNotification("+84912345678", [Speech("hello", "en")])

#: Spec §1.5, row by row: code → (class, retryable).
SPEC_CODES: dict[str, tuple[type[VoiceError], bool]] = {
    "-1": (AuthenticationError, False),
    "-2": (PermissionDenied, False),
    "-3": (InvalidRequest, False),
    "-4": (InvalidRequest, False),
    "-5": (InvalidRequest, False),
    "-6": (InvalidRequest, False),
    "-7": (InvalidRequest, False),
    "-8": (InvalidRequest, False),
    "-9": (InvalidRequest, False),
    "-10": (InsufficientFunds, False),
    "-11": (InvalidRequest, False),
    "-12": (ProviderUnavailable, True),
    "-13": (PermissionDenied, False),
    "-14": (InvalidRequest, False),
    "-15": (RateLimited, True),
    "-16": (RequestExpired, True),
    "-17": (InvalidRequest, False),
    "-18": (ProviderUnavailable, True),
    "-19": (ProviderError, False),
    "-20": (InvalidRequest, False),
    "-21": (InvalidRequest, False),
    "-22": (InvalidRequest, False),
    "-23": (ProviderError, False),
    "-24": (NotFound, False),
    "-26": (ProviderError, False),
    "-27": (RateLimited, False),
    "-28": (RateLimited, False),
    "-29": (InvalidRequest, False),
}


def test_the_table_holds_every_code_of_the_spec_and_nothing_else() -> None:
    assert {entry.code for entry in API_CODES} == {"0", *SPEC_CODES}
    assert API_CODES.is_success("0")
    assert API_CODES.lookup("0").error is None


@pytest.mark.parametrize(("code", "expected"), SPEC_CODES.items(), ids=list(SPEC_CODES))
def test_every_row(code: str, expected: tuple[type[VoiceError], bool]) -> None:
    cls, retryable = expected
    entry = API_CODES.lookup(code)
    assert entry.error is cls
    assert entry.call_placed is False
    assert entry.effective_retryable is retryable
    assert entry.description
    error = API_CODES.error(code, "platform words", provider="itn")
    assert type(error) is cls
    assert error.code == code
    assert error.call_placed is False
    assert error.retryable is retryable
    assert error.plugin == "itniotech"
    assert "platform words" in error.message


@pytest.mark.parametrize("code", ["-25", "-99", "7"])
def test_unknown_codes_fall_back_and_keep_the_raw_code(code: str) -> None:
    error = API_CODES.error(code, None, provider="itn")
    assert type(error) is ProviderError
    assert error.code == code
    assert error.call_placed is False


def test_the_docs_table_is_generated_from_the_same_data() -> None:
    table = API_CODES.markdown()
    for entry in API_CODES:
        assert f"| `{entry.code}` | {entry.description} |" in table
    assert default_registry().get("itniotech").codes["api"] is API_CODES


# -- through the provider ----------------------------------------------------------------------


@pytest.mark.parametrize(("code", "expected"), SPEC_CODES.items(), ids=list(SPEC_CODES))
async def test_each_code_raised_by_a_send(
    provider: ItniotechProvider, mocked: aioresponses, code: str, expected: tuple[type, bool]
) -> None:
    for _ in range(2):
        mocked.post(URL, payload={"status": code, "reason": "refused"})
    with pytest.raises(VoiceError) as caught:
        await provider.send(NOTE)
    assert type(caught.value) is expected[0]
    assert caught.value.code == code
    assert caught.value.call_placed is False
    assert caught.value.provider == "itn"
    assert len(sent(mocked)) == (2 if code == "-16" else 1)


async def test_expired_timestamp_is_re_signed_and_retried_once(mocked: aioresponses) -> None:
    clock = Ticking(step=5.0)
    provider = ItniotechProvider("itn", make_settings(), clock=clock)
    mocked.post(URL, payload=envelope(status="-16", reason="timestamp expires"))
    mocked.post(URL, payload=envelope("2203031113381000002"))
    try:
        receipt = await provider.send(NOTE)
    finally:
        await provider.aclose()
    assert receipt.call_id == "2203031113381000002"
    calls = sent(mocked)
    assert len(calls) == 2
    first, second = (dict(kwargs["headers"]) for _, _, kwargs in calls)
    assert first["Timestamp"] == str(TIMESTAMP)
    assert second["Timestamp"] == str(TIMESTAMP + 5)
    assert second["Sign"] == sign(API_KEY, API_SECRET, TIMESTAMP + 5)
    assert first["Sign"] != second["Sign"]


async def test_expired_twice_raises_request_expired(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    for _ in range(3):
        mocked.post(URL, payload=envelope(status="-16", reason="timestamp expires"))
    with pytest.raises(RequestExpired, match="timestamp expires") as caught:
        await provider.send(NOTE)
    assert caught.value.retryable is True
    assert len(sent(mocked)) == 2


async def test_rate_limited_is_not_retried_inside(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(URL, payload=envelope(status="-15", reason="query too frequently"))
    with pytest.raises(RateLimited) as caught:
        await provider.send(NOTE)
    assert caught.value.retryable is True
    assert len(sent(mocked)) == 1


async def test_status_may_be_a_number(provider: ItniotechProvider, mocked: aioresponses) -> None:
    mocked.post(URL, payload={"status": -10, "reason": "balance"})
    with pytest.raises(InsufficientFunds):
        await provider.send(NOTE)
    mocked.post(URL, payload={"status": 0, "reason": "success", "data": 2203031113381000002})
    assert (await provider.send(NOTE)).call_id == "2203031113381000002"


# -- answers that are not the envelope ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "call_placed"),
    [
        (200, "<html><body>Bad Gateway</body></html>", "text/html", OutcomeUnknown, None),
        (200, "", "text/plain", OutcomeUnknown, None),
        (200, '{"status": "0", "data": ', "application/json", OutcomeUnknown, None),
        (200, '{"code": 0, "msg": "success"}', "application/json", OutcomeUnknown, None),
        (200, '["0"]', "application/json", OutcomeUnknown, None),
        (200, '{"status": "ok"}', "application/json", OutcomeUnknown, None),
        (200, '{"status": "0", "reason": "success"}', "application/json", OutcomeUnknown, None),
        (200, '{"status": "0", "data": ""}', "application/json", OutcomeUnknown, None),
        (200, '{"status": "0", "data": {"id": 1}}', "application/json", OutcomeUnknown, None),
        (200, '{"status": "0", "data": true}', "application/json", OutcomeUnknown, None),
        (502, "<html>502 Bad Gateway</html>", "text/html", ProviderUnavailable, None),
        (500, "", "text/plain", ProviderUnavailable, None),
        (503, "<html>down</html>", "text/html", ProviderUnavailable, False),
        (404, "<html>Not Found</html>", "text/html", NotFound, False),
        (429, "slow down", "text/plain", RateLimited, False),
        (
            500,
            '{"status": "-18", "reason": "port program unusual"}',
            "application/json",
            ProviderUnavailable,
            False,
        ),
        (500, '{"status": "0", "data": "1"}', "application/json", ProviderUnavailable, None),
    ],
    ids=[
        "html-200",
        "empty-200",
        "truncated-json",
        "task-envelope",
        "json-array",
        "status-not-a-code",
        "success-without-data",
        "success-with-empty-id",
        "success-with-object",
        "success-with-bool",
        "html-502",
        "bare-500",
        "html-503",
        "html-404",
        "http-429",
        "envelope-in-500",
        "success-envelope-in-500",
    ],
)
async def test_every_odd_answer_stays_in_the_taxonomy(
    provider: ItniotechProvider,
    mocked: aioresponses,
    status: int,
    body: str,
    content_type: str,
    error: type[VoiceError],
    call_placed: bool | None,
) -> None:
    mocked.post(URL, status=status, body=body, content_type=content_type)
    with pytest.raises(VoiceError) as caught:
        await provider.send(NOTE)
    assert type(caught.value) is error
    assert caught.value.call_placed is call_placed
    assert len(sent(mocked)) == 1


async def test_transport_failures_stay_in_the_taxonomy(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(URL, exception=TimeoutError())
    with pytest.raises(OutcomeUnknown) as caught:
        await provider.send(NOTE)
    assert caught.value.call_placed is None
