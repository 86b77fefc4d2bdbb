"""Verification codes (``callVerify/v1.0``): exact wire requests and local checks."""

from __future__ import annotations

from typing import Any

import pytest

from voicegw.errors import UnsupportedFeature, ValidationError, VoiceError
from voicegw.models import Audio, DigitCollection, Speech, VerificationCode, VoiceNotification
from voicegw.provider import Capability
from voicegw_huawei import auth
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import ProductApp

from .conftest import ProviderFactory
from .samples import (
    AUTHORIZATION,
    BASE,
    DISPLAY,
    FEE_B64,
    SESSION,
    STATUS_B64,
    X_AKSK,
    MockedApi,
    ok,
)

VERIFY = f"{BASE}/rest/httpsessions/callVerify/v1.0"
CALLEE = "+8613700002222"


def code_note(*prompts: Any, **kwargs: Any) -> VoiceNotification:
    return VoiceNotification(CALLEE, list(prompts) or [VerificationCode("583021", "en")], **kwargs)


async def test_verification_code_is_the_exact_wire_request(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(VERIFY, payload=ok())
    receipt = await provider.send(code_note(repeat=2, reference="login-55"))
    [(headers, body)] = mocked.sent("POST", VERIFY)
    assert headers["Authorization"] == AUTHORIZATION
    assert headers["X-AKSK"] == X_AKSK
    assert headers["Content-Type"] == "application/json;charset=UTF-8"
    assert body == {
        "displayNbr": DISPLAY,
        "calleeNbr": CALLEE,
        "statusUrl": STATUS_B64,
        "feeUrl": FEE_B64,
        "userData": "login-55",
        "languageType": 2,
        "preTone": "code_intro.wav",
        "verifyCode": "583021",
        "times": 2,
    }
    assert receipt.call_id == SESSION


@pytest.mark.parametrize(
    ("language", "number"), [("zh", 1), ("zh-CN", 1), ("zh-Hans-CN", 1), ("en", 2), ("en-GB", 2)]
)
async def test_language_type_from_the_language(
    provider: HuaweiProvider, mocked: MockedApi, language: str, number: int
) -> None:
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note(VerificationCode("1234", language)))
    [(_, body)] = mocked.sent("POST", VERIFY)
    assert body["languageType"] == number


async def test_language_table_is_a_setting(
    make_provider: ProviderFactory, mocked: MockedApi
) -> None:
    provider = await make_provider(verify_languages={"zh": 1, "en": 2, "yue": 3})
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note(VerificationCode("1234", "yue")))
    [(_, body)] = mocked.sent("POST", VERIFY)
    assert body["languageType"] == 3


async def test_audio_around_the_code_is_the_pre_and_post_tone(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note(Audio("intro.wav"), VerificationCode("42"), Audio("bye.wav")))
    [(_, body)] = mocked.sent("POST", VERIFY)
    assert body["preTone"] == "intro.wav"
    assert body["posTone"] == "bye.wav"


async def test_options_may_set_documented_fields(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note(options={"times": 0, "posTone": "bye.wav"}))
    [(_, body)] = mocked.sent("POST", VERIFY)
    assert body["times"] == 0
    assert body["posTone"] == "bye.wav"


@pytest.mark.parametrize(
    ("prompts", "kwargs", "error", "match"),
    [
        ([VerificationCode("123456789")], {}, ValidationError, r"digits must be at most 8"),
        ([VerificationCode("1234", "vi")], {}, UnsupportedFeature, "language 'vi'"),
        ([VerificationCode("1234")], {"repeat": 10}, ValidationError, "repeat must be at most 9"),
        (
            [VerificationCode("1234")],
            {"collect": DigitCollection()},
            UnsupportedFeature,
            "collect",
        ),
        ([VerificationCode("1"), VerificationCode("2")], {}, ValidationError, "one Verif"),
        ([Speech("hi", "zh"), VerificationCode("1")], {}, ValidationError, "one Audio before"),
        (
            [Audio("a.wav"), Audio("b.wav"), VerificationCode("1")],
            {},
            ValidationError,
            "one Audio before",
        ),
        (
            [VerificationCode("1")],
            {"options": {"verifyCode": "9"}},
            ValidationError,
            "options.verifyCode",
        ),
        (
            [VerificationCode("1")],
            {"options": {"times": 12}},
            ValidationError,
            r"repeat \(times\) must be between 0 and 9",
        ),
        ([Audio("x" * 129), VerificationCode("1")], {}, ValidationError, r"\(preTone\)"),
    ],
)
async def test_bad_codes_are_refused_before_sending(
    provider: HuaweiProvider,
    mocked: MockedApi,
    prompts: list[Any],
    kwargs: dict[str, Any],
    error: type[VoiceError],
    match: str,
) -> None:
    with pytest.raises(error, match=match) as caught:
        await provider.send(code_note(*prompts, **kwargs))
    assert type(caught.value) is error
    assert caught.value.provider == "hw"
    assert not mocked.requests


async def test_without_a_pre_tone_codes_are_not_a_capability(
    make_provider: ProviderFactory, mocked: MockedApi
) -> None:
    provider = await make_provider(verify_pre_tone=None)
    assert Capability.VERIFICATION_CODE not in provider.capabilities
    with pytest.raises(UnsupportedFeature, match="verify_pre_tone"):
        await provider.send(code_note())
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note(Audio("intro.wav"), VerificationCode("1234")))
    [(_, body)] = mocked.sent("POST", VERIFY)
    assert body["preTone"] == "intro.wav"


async def test_the_verification_app_signs_codes(
    make_provider: ProviderFactory, mocked: MockedApi
) -> None:
    provider = await make_provider(
        verification=ProductApp(app_key="verifyKey", app_secret="verifySecret")
    )
    mocked.post(VERIFY, payload=ok())
    await provider.send(code_note())
    [(headers, body)] = mocked.sent("POST", VERIFY)
    fields = auth.parse_x_aksk(headers["X-AKSK"])
    assert fields is not None
    assert fields["Username"] == "verifyKey"
    assert fields["PasswordDigest"] == auth.password_digest(
        "verifySecret", fields["Nonce"], fields["Created"]
    )
    assert body["displayNbr"] == DISPLAY  # the main display number when the app names none
