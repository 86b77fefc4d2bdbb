"""Voice notifications (``callnotify/v2.0``): exact wire requests, local checks, answers."""

from __future__ import annotations

from typing import Any

import pytest

from voicegw.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.models import (
    Audio,
    DigitCollection,
    Speech,
    Template,
    VoiceNotification,
)
from voicegw.provider import Capability
from voicegw_huawei import auth
from voicegw_huawei.provider import HuaweiProvider, capabilities_for
from voicegw_huawei.settings import ProductApp
from voicegw_huawei.wire import split_speech

from .conftest import ProviderFactory
from .samples import (
    APP_KEY,
    AUTHORIZATION,
    BASE,
    DISPLAY,
    FEE_B64,
    SESSION,
    STATUS_B64,
    X_AKSK,
    MockedApi,
    make_settings,
    ok,
    refusal,
)

NOTIFY = f"{BASE}/rest/httpsessions/callnotify/v2.0"
CALLEE = "+8613700002222"


def note(*prompts: Any, **kwargs: Any) -> VoiceNotification:
    return VoiceNotification(CALLEE, list(prompts) or [Audio("notice.wav")], **kwargs)


async def test_template_and_audio_notification_is_the_exact_wire_request(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(NOTIFY, payload=ok())
    receipt = await provider.send(
        note(
            Template("7d2a1c0e9f8b4a6c", ["张三", "2024/03/06", "3"]),
            Audio("goodbye_v2.wav"),
            collect=DigitCollection(max_digits=1),
            reference="notice-778",
            options={"replayAfterCollection": "true", "collectContentTriggerReplaying": "9"},
        )
    )
    [(headers, body)] = mocked.sent("POST", NOTIFY)
    headers.pop("User-Agent", None)
    assert headers == {
        "Content-Type": "application/json;charset=UTF-8",
        "Authorization": AUTHORIZATION,
        "X-AKSK": X_AKSK,
    }
    assert body == {
        "displayNbr": DISPLAY,
        "calleeNbr": CALLEE,
        "statusUrl": STATUS_B64,
        "feeUrl": FEE_B64,
        "userData": "notice-778",
        "playInfoList": [
            {"templateId": "7d2a1c0e9f8b4a6c", "templateParas": ["张三", "2024/03/06", "3"]},
            {
                "notifyVoice": "goodbye_v2.wav",
                "collectInd": 1,
                "replayAfterCollection": "true",
                "collectContentTriggerReplaying": "9",
            },
        ],
    }
    assert receipt.call_id == SESSION
    assert receipt.provider == "hw"
    assert receipt.plugin == "huawei"
    assert receipt.reference == "notice-778"
    assert receipt.accepted_at.tzinfo is not None


async def test_numbers_are_normalized(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(NOTIFY, payload=ok())
    await provider.send(note(caller_id="+86 20 8765 4321"))
    [(_, body)] = mocked.sent("POST", NOTIFY)
    assert body["displayNbr"] == "+862087654321"
    assert body["calleeNbr"] == CALLEE


async def test_speech_becomes_the_speech_template_split_to_its_variable(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(NOTIFY, payload=ok())
    await provider.send(note(Speech("您的餐桌已经准备好了，请到前台取号。谢谢光临", "zh-CN")))
    [(_, body)] = mocked.sent("POST", NOTIFY)
    items = body["playInfoList"]
    assert [item["templateId"] for item in items] == ["tpl-speech"] * len(items)
    pieces = [item["templateParas"][0] for item in items]
    # the settings' template takes 16 characters and 32 bytes: 10 CJK characters at most
    assert pieces == ["您的餐桌已经准备好了", "请到前台取号。", "谢谢光临"]
    assert all(len(p.encode()) <= 32 for p in pieces)


def test_speech_is_split_at_spaces_and_punctuation() -> None:
    text = "Hello from the voicegw conformance kit, goodbye"
    assert split_speech(text, max_length=32, max_bytes=32) == [
        "Hello from the voicegw",
        "conformance kit, goodbye",
    ]
    assert split_speech("x" * 40, max_length=16, max_bytes=32) == ["x" * 16, "x" * 16, "x" * 8]
    assert split_speech("   ", max_length=16, max_bytes=32) == []


async def test_speech_without_a_template_is_unsupported(
    make_provider: ProviderFactory,
) -> None:
    provider = await make_provider(speech_template=None)
    assert Capability.SPEECH not in provider.capabilities
    with pytest.raises(UnsupportedFeature, match="cannot speak free text") as caught:
        await provider.send(note(Speech("hello", "zh")))
    assert caught.value.provider == "hw"


async def test_speech_in_a_language_the_template_does_not_speak(
    provider: HuaweiProvider,
) -> None:
    with pytest.raises(UnsupportedFeature, match="language 'vi'"):
        await provider.send(note(Speech("xin chào", "vi")))


async def test_speech_too_long_for_five_items_is_refused(provider: HuaweiProvider) -> None:
    with pytest.raises(ValidationError, match="at most 5"):
        await provider.send(note(Speech("好" * 100, "zh")))


async def test_repeat_repeats_the_play_list(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(NOTIFY, payload=ok())
    await provider.send(note(Audio("a.wav"), Audio("b.wav"), repeat=2))
    [(_, body)] = mocked.sent("POST", NOTIFY)
    assert [i["notifyVoice"] for i in body["playInfoList"]] == ["a.wav", "b.wav"] * 2


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"to": "+84912345678"}, ValidationError, r"\] to \(calleeNbr\) must be a mainland China"),
        ({"reference": "{json}"}, ValidationError, r"\] reference \(userData\)"),
        ({"reference": "订单"}, ValidationError, r"\] reference \(userData\)"),
        ({"reference": "x" * 257}, ValidationError, r"\] reference \(userData\) must be 1 to 256"),
        (
            {"prompts": [Audio("x" * 129)]},
            ValidationError,
            r"\] prompts \(playInfoList\[0\]\.notifyVoice\) must be 1 to 128",
        ),
        (
            {"prompts": [Template("t", ["x" * 33])]},
            ValidationError,
            r"templateParas\[0\]\) must be at most 32 bytes",
        ),
        ({"prompts": [Template("t" * 33)]}, ValidationError, r"templateId\) must be 1 to 32"),
        ({"prompts": [Audio("a.wav")] * 6}, ValidationError, "at most 5"),
        ({"collect": DigitCollection(max_digits=33)}, ValidationError, "collect.max_digits"),
        ({"collect": DigitCollection(timeout=10)}, UnsupportedFeature, "collect.timeout"),
        ({"collect": DigitCollection(end_key="#")}, UnsupportedFeature, "collect.end_key"),
        ({"ring_timeout": 30}, UnsupportedFeature, "ring_timeout"),
        ({"max_duration": 60}, UnsupportedFeature, "max_duration"),
        ({"options": {"calleeNbr": "+8613700000000"}}, ValidationError, r"options.calleeNbr .*to"),
        ({"options": {"returnIdlePort": "yes"}}, ValidationError, r"\] options.returnIdlePort"),
        ({"options": {"bindNbr": "x" * 33}}, ValidationError, r"\] options.bindNbr"),
        ({"options": {"replayAfterCollection": "true"}}, ValidationError, "needs collect"),
        (
            {
                "collect": DigitCollection(),
                "options": {"collectContentTriggerReplaying": "1"},
            },
            ValidationError,
            "replayAfterCollection",
        ),
    ],
)
async def test_bad_notifications_are_refused_before_sending(
    provider: HuaweiProvider,
    mocked: MockedApi,
    kwargs: dict[str, Any],
    error: type[VoiceError],
    match: str,
) -> None:
    to = kwargs.pop("to", CALLEE)
    prompts = kwargs.pop("prompts", [Audio("notice.wav")])
    with pytest.raises(error, match=match) as caught:
        await provider.send(VoiceNotification(to, prompts, **kwargs))
    assert type(caught.value) is error
    assert caught.value.call_placed is False
    assert caught.value.provider == "hw"
    assert not mocked.requests


async def test_a_caller_id_is_needed(make_provider: ProviderFactory) -> None:
    provider = await make_provider(caller_id=None)
    with pytest.raises(ValidationError, match=r"\] caller_id is required"):
        await provider.send(note())


async def test_options_pass_through_untouched(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(NOTIFY, payload=ok(idlePort=7))
    receipt = await provider.send(note(options={"returnIdlePort": "true", "bindNbr": "+8610"}))
    [(_, body)] = mocked.sent("POST", NOTIFY)
    assert body["returnIdlePort"] == "true"
    assert body["bindNbr"] == "+8610"
    assert receipt.raw["idlePort"] == 7


async def test_without_push_urls_the_console_addresses_apply(
    make_provider: ProviderFactory, mocked: MockedApi
) -> None:
    provider = await make_provider(status_url=None, fee_url=None)
    mocked.post(NOTIFY, payload=ok())
    await provider.send(note())
    [(_, body)] = mocked.sent("POST", NOTIFY)
    assert "statusUrl" not in body
    assert "feeUrl" not in body


async def test_the_notification_app_signs_notifications(
    make_provider: ProviderFactory, mocked: MockedApi
) -> None:
    app = ProductApp(
        app_key="notifyKey",
        app_secret="notifySecret",
        caller_id="+862000000001",
        base_url="https://notify.example.cn:443",
    )
    provider = await make_provider(notification=app)
    url = "https://notify.example.cn:443/rest/httpsessions/callnotify/v2.0"
    mocked.post(url, payload=ok())
    await provider.send(note())
    [(headers, body)] = mocked.sent("POST", url)
    fields = auth.parse_x_aksk(headers["X-AKSK"])
    assert fields is not None
    assert fields["Username"] == "notifyKey"
    assert fields["PasswordDigest"] == auth.password_digest(
        "notifySecret", fields["Nonce"], fields["Created"]
    )
    assert body["displayNbr"] == "+862000000001"


# -- answers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (403, "1010002", InvalidRequest),
        (403, "1010003", AuthenticationError),
        (401, "1010010", AuthenticationError),
        (400, "1023006", AuthenticationError),
        (400, "1023099", AuthenticationError),
        (403, "1020166", PermissionDenied),
        (403, "1020165", RateLimited),
        (403, "1020152", NotFound),
        (500, "1010001", ProviderUnavailable),
        (200, "1012003", InvalidRequest),
    ],
)
async def test_result_codes_raise_their_class(
    provider: HuaweiProvider,
    mocked: MockedApi,
    status: int,
    code: str,
    error: type[VoiceError],
) -> None:
    mocked.post(
        NOTIFY, status=status, payload=refusal(code, "Invalid request. calleeNbr is invalid.")
    )
    with pytest.raises(error) as caught:
        await provider.send(note())
    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.call_placed is False
    assert "calleeNbr is invalid" in caught.value.message


async def test_unknown_code_keeps_the_raw_code(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(NOTIFY, status=403, payload={"resultcode": 1099999, "resultdesc": "new"})
    with pytest.raises(VoiceError) as caught:
        await provider.send(note())
    assert type(caught.value).__name__ == "ProviderError"
    assert caught.value.code == "1099999"


async def test_expired_timestamp_is_resigned_and_retried_once(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    nonces = iter(["aaaa1111", "bbbb2222"])
    provider._nonce = lambda: next(nonces)
    mocked.post(NOTIFY, status=401, payload=refusal("1010013", "Time out limit"))
    mocked.post(NOTIFY, payload=ok())
    receipt = await provider.send(note())
    sent = mocked.sent("POST", NOTIFY)
    assert len(sent) == 2
    first, second = (auth.parse_x_aksk(h["X-AKSK"]) for h, _ in sent)
    assert first is not None and second is not None
    assert (first["Nonce"], second["Nonce"]) == ("aaaa1111", "bbbb2222")
    assert receipt.call_id == SESSION


async def test_expired_twice_raises_request_expired(
    provider: HuaweiProvider, mocked: MockedApi
) -> None:
    mocked.post(NOTIFY, status=401, payload=refusal("1010013"), repeat=True)
    with pytest.raises(RequestExpired) as caught:
        await provider.send(note())
    assert caught.value.call_placed is False
    assert len(mocked.sent("POST", NOTIFY)) == 2


@pytest.mark.parametrize(
    ("status", "body", "error", "placed"),
    [
        (200, "not json", OutcomeUnknown, None),
        (200, '{"resultcode": "0", "resultdesc": "Success"}', OutcomeUnknown, None),
        (200, '{"hello": 1}', OutcomeUnknown, None),
        (500, "<html>oops</html>", ProviderUnavailable, None),
        (503, "", ProviderUnavailable, False),
        (404, "", NotFound, False),
        (502, '{"resultcode": "0", "sessionId": "x"}', ProviderUnavailable, None),
    ],
)
async def test_answers_without_a_usable_envelope(
    provider: HuaweiProvider,
    mocked: MockedApi,
    status: int,
    body: str,
    error: type[VoiceError],
    placed: bool | None,
) -> None:
    mocked.post(NOTIFY, status=status, body=body)
    with pytest.raises(error) as caught:
        await provider.send(note())
    assert caught.value.call_placed is placed


async def test_retry_after_is_passed_on(provider: HuaweiProvider, mocked: MockedApi) -> None:
    mocked.post(NOTIFY, status=403, payload=refusal("1020165"), headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as caught:
        await provider.send(note())
    assert caught.value.retry_after == 7.0
    assert caught.value.retryable is True


# -- capabilities and secrets ------------------------------------------------------------


def test_capabilities_follow_the_settings() -> None:
    full = capabilities_for(make_settings())
    assert {Capability.SPEECH, Capability.VERIFICATION_CODE} <= full
    assert Capability.RECORD_QUERY not in full
    bare = capabilities_for(make_settings(speech_template=None, verify_pre_tone=None))
    assert Capability.SPEECH not in bare
    assert Capability.VERIFICATION_CODE not in bare
    assert {
        Capability.TEMPLATE,
        Capability.AUDIO,
        Capability.COLLECT_DIGITS,
        Capability.HANGUP,
        Capability.CLICK_TO_CALL,
        Capability.STATUS_PUSH,
        Capability.RECORD_PUSH,
    } <= bare


def test_secrets_never_show_in_reprs() -> None:
    settings = make_settings(
        notification=ProductApp(app_key="k", app_secret="product-secret-1"),
        push_secrets=["rotated-secret-2"],
    )
    text = repr(settings)
    for secret in ("S3cr3tS3cr3tS3cr3t", "product-secret-1", "rotated-secret-2"):
        assert secret not in text
    assert APP_KEY in text
