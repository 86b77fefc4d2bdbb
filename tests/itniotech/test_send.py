"""Sending: the exact wire request, every documented rule checked locally, and what is refused."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from aioresponses import aioresponses

from voicegw.errors import InvalidRequest, OutcomeUnknown, UnsupportedFeature, ValidationError
from voicegw.models import (
    Audio,
    AudioFile,
    AudioStatus,
    AudioUpload,
    DigitCollection,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.wire import (
    LANGUAGES,
    build_file_upload,
    build_send,
    send_code_problems,
    send_group_problems,
    text_length,
)

from .samples import API_KEY, APP_ID, BASE, SIGN, envelope, make_settings, sent, sent_json

HEADERS = {
    "Content-Type": "application/json;charset=UTF-8",
    "Sign": SIGN,
    "Timestamp": "1630468800",
    "Api-Key": API_KEY,
}


def signed_headers(kwargs: dict[str, Any]) -> dict[str, str]:
    """The request's headers without the session's User-Agent."""
    headers = dict(kwargs["headers"])
    assert headers.pop("User-Agent", "voicegw").startswith("voicegw")
    return headers


def seed_notification(**overrides: Any) -> VoiceNotification:
    """The seed's request sample, told in voicegw's words."""
    values: dict[str, Any] = {
        "caller_id": "+6311012125",
        "repeat": 2,
        "reference": "calledInfo",
        "max_duration": 120,
        "ring_timeout": 60,
    }
    values.update(overrides)
    return VoiceNotification("+84912345678", [Speech("hello world", "en")], **values)


def only_request(mock: aioresponses) -> tuple[str, str, dict[str, Any]]:
    calls = sent(mock)
    assert len(calls) == 1
    return calls[0]


# -- the wire request ------------------------------------------------------------------------


async def test_speech_goes_to_send_code_with_every_seed_field(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("2203031113381000002"))
    receipt = await provider.send(seed_notification())
    method, url, kwargs = only_request(mocked)
    assert (method, url) == ("POST", f"{BASE}/voice/sendCode")
    assert signed_headers(kwargs) == HEADERS
    assert sent_json(kwargs) == {
        "callee": "84912345678",
        "displayNum": "6311012125",
        "language": "EN",
        "text": "hello world",
        "appId": APP_ID,
        "loopCount": 2,
        "calledInfo": "calledInfo",
        "recallCount": 0,
        "maxDuration": 120,
        "maxRingingTime": 60,
    }
    assert receipt.call_id == "2203031113381000002"
    assert receipt.provider == "itn"
    assert receipt.plugin == "itniotech"
    assert receipt.reference == "calledInfo"
    assert receipt.accepted_at.tzinfo is not None
    assert receipt.raw["data"] == "2203031113381000002"


async def test_minimal_speech_sends_only_what_is_known(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    await provider.send(VoiceNotification("+84912345678", [Speech("Xin chào", "vi")]))
    _, _, kwargs = only_request(mocked)
    assert sent_json(kwargs) == {
        "callee": "84912345678",
        "displayNum": None,
        "language": "VN",
        "text": "Xin chào",
        "appId": APP_ID,
        "loopCount": 1,
        "recallCount": 0,
    }


async def test_settings_caller_id_is_the_default_display_number(mocked: aioresponses) -> None:
    provider = ItniotechProvider("itn", make_settings(caller_id="+6311012125"))
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    try:
        await provider.send(VoiceNotification("+84912345678", [Speech("hi", "en")]))
    finally:
        await provider.aclose()
    assert sent_json(only_request(mocked)[2])["displayNum"] == "6311012125"


async def test_recall_and_newer_fields_come_through_options(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    note = seed_notification(
        options={"recall_count": 2, "recallInterval": 10, "speakingRate": 1.5, "accent": "91"}
    )
    await provider.send(note)
    body = sent_json(only_request(mocked)[2])
    assert body["recallCount"] == 2
    assert body["recallInterval"] == 10
    assert body["speakingRate"] == 1.5
    assert body["accent"] == "91"


async def test_verification_code_is_read_digit_by_digit(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    await provider.send(VoiceNotification("+84912345678", [VerificationCode("583021", "vi")]))
    body = sent_json(only_request(mocked)[2])
    assert body["text"] == "5, 8, 3, 0, 2, 1"
    assert body["language"] == "VN"


async def test_prompts_of_one_language_become_one_text(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    prompts = [Speech("Your code is", "en-US"), VerificationCode("42", "en-GB"), Speech("Bye.")]
    await provider.send(VoiceNotification("+84912345678", prompts))
    body = sent_json(only_request(mocked)[2])
    assert body["text"] == "Your code is 4, 2 Bye."
    assert body["language"] == "EN"


async def test_audio_goes_to_send_group_with_display_num_null(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(
        f"{BASE}/voice/sendGroup",
        payload=envelope(
            [
                {
                    "voiceId": "2203031134011000001",
                    "callee": "84912345678",
                    "terminationCode": "0",
                    "terminationReason": "success",
                }
            ]
        ),
    )
    note = VoiceNotification("+84912345678", [Audio("1202202254d4c6.mp3")], reference="r-1")
    receipt = await provider.send(note)
    method, url, kwargs = only_request(mocked)
    assert (method, url) == ("POST", f"{BASE}/voice/sendGroup")
    assert signed_headers(kwargs) == HEADERS
    assert sent_json(kwargs) == {
        "callee": "84912345678",
        "displayNum": None,
        "fileId": "1202202254d4c6.mp3",
        "appId": APP_ID,
        "loopCount": 1,
        "calledInfo": "r-1",
    }
    assert receipt.call_id == "2203031134011000001"


async def test_send_group_refusing_the_number_is_not_placed(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(
        f"{BASE}/voice/sendGroup",
        payload=envelope(
            [
                {
                    "voiceId": "",
                    "callee": "84912345678",
                    "terminationCode": "-9",
                    "terminationReason": "bad",
                }
            ]
        ),
    )
    with pytest.raises(InvalidRequest, match="sendGroup refused the number: bad") as caught:
        await provider.send(VoiceNotification("+84912345678", [Audio("f.mp3")]))
    assert caught.value.code == "-9"
    assert caught.value.call_placed is False


async def test_send_group_success_without_an_id_is_outcome_unknown(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendGroup", payload=envelope([]))
    with pytest.raises(OutcomeUnknown) as caught:
        await provider.send(VoiceNotification("+84912345678", [Audio("f.mp3")]))
    assert caught.value.call_placed is None


async def test_upload_audio_sends_name_and_base64(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/fileUpload", payload=envelope("1202202254d4c6372d6f34.wav"))
    uploaded = await provider.upload_audio(
        AudioUpload(data=b"RIFF\x00\x01", filename="/tmp/greeting.wav", name="welcome")
    )
    method, url, kwargs = only_request(mocked)
    assert (method, url) == ("POST", f"{BASE}/voice/fileUpload")
    assert signed_headers(kwargs) == HEADERS
    assert sent_json(kwargs) == {"fileName": "welcome.wav", "file": "UklGRgAB"}
    assert uploaded == AudioFile(
        file_id="1202202254d4c6372d6f34.wav", provider="itn", status=AudioStatus.APPROVED
    )


# -- languages -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "EN"),
        ("vi", "VN"),
        ("ja", "JP"),
        ("ar", "ARB"),
        ("de", "DE"),
        ("hi", "IN"),
        ("it", "IT"),
        ("ko", "KR"),
        ("ru", "RU"),
        ("es", "ES"),
        ("pt-BR", "PT"),
        ("id", "IDN"),
        ("bn", "BD"),
        ("th", "TH"),
        ("EN-us", "EN"),
    ],
)
def test_language_mapping(tag: str, code: str) -> None:
    request = build_send(VoiceNotification("+84912345678", [Speech("x", tag)]), make_settings())
    assert request.body is not None
    assert request.body["language"] == code


def test_the_table_covers_the_seed_language_list() -> None:
    seed = {"VN", "EN", "JP", "ARB", "DE", "IN", "IT", "KR", "RU", "ES", "PT", "IDN", "BD", "TH"}
    assert {code for code, _ in LANGUAGES.values()} == seed


@pytest.mark.parametrize("tag", ["zh-CN", "fr", "tl", "in"])
def test_a_language_itnio_cannot_speak_is_refused(tag: str) -> None:
    with pytest.raises(UnsupportedFeature, match=r"^prompts\[0\]\.language"):
        build_send(VoiceNotification("+84912345678", [Speech("x", tag)]), make_settings())


def test_language_codes_setting_adds_languages() -> None:
    settings = make_settings(language_codes={"zh": "ZH", "en-IN": "HI"})
    for tag, code in [("zh-CN", "ZH"), ("en-in", "HI"), ("en-US", "EN")]:
        request = build_send(VoiceNotification("+84912345678", [Speech("x", tag)]), settings)
        assert request.body is not None
        assert request.body["language"] == code


def test_mixed_languages_are_refused() -> None:
    note = VoiceNotification("+84912345678", [Speech("Hello", "en"), Speech("Xin chào", "vi")])
    with pytest.raises(UnsupportedFeature, match=r"^prompts mix languages \(EN, VN\)"):
        build_send(note, make_settings())


# -- text limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(("tag", "limit"), [("id", 299), ("vi", 299), ("th", 299)])
def test_short_languages_allow_299_characters(tag: str, limit: int) -> None:
    settings = make_settings()
    build_send(VoiceNotification("+84912345678", [Speech("a" * limit, tag)]), settings)
    with pytest.raises(ValidationError, match=r"^prompts \(text\) must be at most 299"):
        build_send(VoiceNotification("+84912345678", [Speech("a" * (limit + 1), tag)]), settings)


@pytest.mark.parametrize(
    "tag", [t for t, (code, _) in LANGUAGES.items() if code not in {"IDN", "VN", "TH"}]
)
def test_other_languages_allow_800_characters(tag: str) -> None:
    settings = make_settings()
    build_send(VoiceNotification("+84912345678", [Speech("a" * 800, tag)]), settings)
    with pytest.raises(ValidationError, match=r"^prompts \(text\) must be at most 800"):
        build_send(VoiceNotification("+84912345678", [Speech("a" * 801, tag)]), settings)


def test_text_is_counted_as_the_platform_counts_it() -> None:
    assert text_length("héllo") == 5
    assert text_length("👋") == 2  # Java counts UTF-16 code units
    with pytest.raises(ValidationError, match="at most 299"):
        build_send(VoiceNotification("+84912345678", [Speech("👋" * 150, "vi")]), make_settings())


def test_concatenated_text_is_checked_as_a_whole() -> None:
    prompts = [Speech("a" * 150, "vi"), Speech("b" * 150, "vi")]
    with pytest.raises(ValidationError, match="got 301"):
        build_send(VoiceNotification("+84912345678", prompts), make_settings())


# -- number and range rules ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"repeat": 10}, r"^repeat \(loopCount\) must be a whole number from 1 to 9, got 10"),
        (
            {"max_duration": 121},
            r"^max_duration \(maxDuration\) must be a whole number from 1 to 120",
        ),
        (
            {"ring_timeout": 19},
            r"^ring_timeout \(maxRingingTime\) must be a whole number from 20 to 120",
        ),
        (
            {"ring_timeout": 121},
            r"^ring_timeout \(maxRingingTime\) must be a whole number from 20 to 120",
        ),
        (
            {"options": {"recallCount": 10}},
            r"^options\.recallCount must be a whole number from 0 to 9",
        ),
        (
            {"options": {"recall_count": 1, "recallInterval": 0}},
            r"^options\.recallInterval must be a whole number from 1 to 999",
        ),
        ({"options": {"recallCount": 1, "recallInterval": 1000}}, r"^options\.recallInterval"),
        (
            {"options": {"speakingRate": 4.5}},
            r"^options\.speakingRate must be a number from 0\.25 to 4\.0",
        ),
        ({"options": {"ssmlGender": 3}}, r"^options\.ssmlGender"),
        ({"options": {"accent": "+91"}}, r"^options\.accent"),
    ],
)
def test_rules_are_checked_locally(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_send(seed_notification(**overrides), make_settings())


@pytest.mark.parametrize(
    ("overrides"),
    [
        {"repeat": 9, "max_duration": 1, "ring_timeout": 20},
        {"max_duration": 120, "ring_timeout": 120},
        {"options": {"recallCount": 9, "recallInterval": 999}},
        {"options": {"recallCount": 1, "recallInterval": 1}},
        {"options": {"recallCount": 0, "recallInterval": 0}},  # the doc's own sample
        {"options": {"speakingRate": 0.25, "ssmlGender": 2, "accent": "44"}},
    ],
)
def test_values_at_the_edges_are_accepted(overrides: dict[str, Any]) -> None:
    assert build_send(seed_notification(**overrides), make_settings()).body


def test_called_info_is_limited_to_1000_characters() -> None:
    body = {"callee": "84912345678", "language": "EN", "text": "x", "appId": "a"}
    assert send_code_problems({**body, "calledInfo": "c" * 1000}) == []
    (problem,) = send_code_problems({**body, "calledInfo": "c" * 1001})
    assert (
        problem.text("reference")
        == "reference (calledInfo) must be at most 1000 characters, got 1001"
    )


@pytest.mark.parametrize("callee", ["123456", "1234567890123456", "84-912", "", None, 84912345678])
def test_callee_must_be_7_to_15_digits(callee: Any) -> None:
    body = {"callee": callee, "language": "EN", "text": "x", "appId": "a"}
    problems = send_code_problems(body)
    assert [p.field for p in problems] == ["callee"]


def test_php_style_numeric_strings_pass_the_rules() -> None:
    body = {
        "callee": "932111111111",
        "displayNum": "1008122211",
        "language": "EN",
        "text": "hello world",
        "appId": "4luaKsL2",
        "loopCount": "2",
        "calledInfo": "calledInfo",
        "recallCount": "0",
        "recallInterval": "0",
        "maxDuration": "120",
        "maxRingingTime": "60",
    }
    assert send_code_problems(body) == []


def test_send_group_allows_three_loops_and_two_hundred_numbers() -> None:
    body = {"callee": ",".join(["84912345678"] * 200), "fileId": "f.mp3", "appId": "a"}
    assert send_group_problems({**body, "loopCount": 3}) == []
    assert [p.field for p in send_group_problems({**body, "loopCount": 4})] == ["loopCount"]
    too_many = {**body, "callee": ",".join(["84912345678"] * 201)}
    assert [p.field for p in send_group_problems(too_many)] == ["callee"]


def test_audio_repeat_follows_the_send_group_range() -> None:
    with pytest.raises(
        ValidationError, match=r"^repeat \(loopCount\) must be a whole number from 1 to 3"
    ):
        build_send(VoiceNotification("+84912345678", [Audio("f.mp3")], repeat=4), make_settings())


# -- refused before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("note", "error", "message"),
    [
        (
            VoiceNotification("+84912345678", [Speech("x")], collect=DigitCollection()),
            UnsupportedFeature,
            r"^collect: ITNIO has no request field",
        ),
        (
            VoiceNotification("+84912345678", [Template("t1")]),
            UnsupportedFeature,
            r"^prompts\[0\] is a Template",
        ),
        (
            VoiceNotification("+84912345678", [Speech("x"), Audio("f.mp3")]),
            UnsupportedFeature,
            r"^prompts mix Audio with speech",
        ),
        (
            VoiceNotification("+84912345678", [Audio("a.mp3"), Audio("b.mp3")]),
            UnsupportedFeature,
            r"^prompts hold 2 Audio files",
        ),
        (
            VoiceNotification("+84912345678", [Audio("a.mp3")], options={"recallCount": 1}),
            UnsupportedFeature,
            r"^options\.recallCount: ITNIO's sendGroup",
        ),
        (
            VoiceNotification("+84912345678", [Speech("x")], options={"callee": "1"}),
            ValidationError,
            r"^options\.callee cannot be set through options: it comes from to",
        ),
        (
            VoiceNotification("+84912345678", [Speech("x")], options={"language": "EN"}),
            ValidationError,
            r"^options\.language cannot be set",
        ),
        (
            VoiceNotification("+84912345678", [Speech("x")], options={"extra": {1, 2}}),
            ValidationError,
            r"^options\.extra must be JSON data",
        ),
        (
            VoiceNotification(
                "+84912345678", [Speech("x")], options={"recall_count": 1, "recallCount": 2}
            ),
            ValidationError,
            r"^options\.recallCount is given twice",
        ),
    ],
)
async def test_refusals_happen_before_anything_is_sent(
    provider: ItniotechProvider,
    mocked: aioresponses,
    note: VoiceNotification,
    error: type[Exception],
    message: str,
) -> None:
    with pytest.raises(error) as caught:
        await provider.send(note)
    assert re.match(message, getattr(caught.value, "message", "")), caught.value
    assert sent(mocked) == []
    assert getattr(caught.value, "provider", None) == "itn"
    assert getattr(caught.value, "call_placed", None) is False


async def test_unknown_options_pass_through_untouched(
    provider: ItniotechProvider, mocked: aioresponses
) -> None:
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope("1"))
    await provider.send(seed_notification(options={"futureField": {"a": [1, "b"]}}))
    assert sent_json(only_request(mocked)[2])["futureField"] == {"a": [1, "b"]}


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (AudioUpload(data=b"x", filename=".wav"), r"^filename \(fileName\) must be 5 to 32"),
        (
            AudioUpload(data=b"x", filename="x" * 29 + ".wav"),
            r"^filename \(fileName\) must be 5 to 32",
        ),
        (AudioUpload(data=b"x", filename="greeting.ogg"), r"ending in \.mp3, \.m4a or \.wav"),
        (AudioUpload(data=b"x", filename="g.wav", name="welcome.ogg"), r"^name \(fileName\)"),
    ],
)
def test_upload_names_follow_the_rules(upload: AudioUpload, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        build_file_upload(upload, max_bytes=100)


def test_upload_size_is_limited_locally() -> None:
    upload = AudioUpload(data=b"x" * 101, filename="greeting.mp3")
    with pytest.raises(ValidationError, match=r"^data must be at most 100 bytes"):
        build_file_upload(upload, max_bytes=100)
    assert build_file_upload(upload, max_bytes=101).body == {
        "fileName": "greeting.mp3",
        "file": base64.b64encode(b"x" * 101).decode(),
    }


def test_bad_input_reaches_no_socket_through_the_gateway_either() -> None:
    # The model itself refuses a malformed number before the plugin sees it.
    with pytest.raises(ValidationError, match="^to must be E.164"):
        VoiceNotification("0912345678", [Speech("x")])
