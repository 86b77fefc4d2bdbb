"""AICC on the wire: the exact token and upload requests, local checks, and error mapping."""

from __future__ import annotations

import asyncio
import base64
import inspect
import json
import logging
import struct
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import aioresponses.core as aioresponses_core
import pytest
from aiohttp import ClientResponse
from aioresponses import CallbackResult, aioresponses
from hypothesis import given, settings
from hypothesis import strategies as st
from yarl import URL

from voicegw.errors import (
    AuthenticationError,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    TransportError,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.http import HttpResponse
from voicegw.models import AudioFile, AudioStatus, AudioUpload
from voicegw_huawei.aicc import (
    MAX_FILE_BYTES,
    TOKEN_PATH,
    UPLOAD_PATH,
    AccessToken,
    AiccClient,
    AiccSettings,
    audio_file_from_response,
    detect_file_type,
    locale_for,
    token_from_response,
    token_request,
    upload_body,
    upload_headers,
    voice_file_name,
    voice_type_for,
)

BASE = "https://aicc.test"
TOKEN_URL = BASE + TOKEN_PATH
UPLOAD_URL = BASE + UPLOAD_PATH
KEY = "aicc-app-key"
SECRET = "aicc-Secret-Never-Shown-99"
CALLBACK = "https://hooks.example.org/hooks/hw/review"

WAV = (
    b"RIFF"
    + struct.pack("<I", 36 + 16)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data"
    + struct.pack("<I", 16)
    + b"\x01\x00" * 8
)
MP3_FRAME = bytes([0xFF, 0xFB, 0x90, 0x64]) + b"\x00" * 60
ID3_MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"TIT2\x00" + MP3_FRAME


def token_payload(token: str = "tok-1", expires: str = "600") -> dict[str, str]:  # noqa: S107
    return {
        "AccessToken": token,
        "ApplyType": "Bearer",
        "CreateTime": "1709626542",
        "Expires": expires,
        "Scope": "",
        "AppKey": KEY,
        "UserID": "Anonymous",
    }


OK = {
    "returnCode": "0",
    "description": "File uploaded successfully.",
    "fileId": "1182733043937561608",
}


def aicc(**overrides: Any) -> AiccSettings:
    values: dict[str, Any] = {
        "base_url": BASE,
        "app_key": KEY,
        "app_secret": SECRET,
        "review_callback_url": CALLBACK,
        **overrides,
    }
    return AiccSettings(**values)


def wav_upload(**overrides: Any) -> AudioUpload:
    values: dict[str, Any] = {
        "data": WAV,
        "filename": "welcome.wav",
        "language": "en-US",
        "name": "Welcome01",
        **overrides,
    }
    return AudioUpload(**values)


def calls(mocked: aioresponses, url: str) -> list[Any]:
    return list(mocked.requests.get(("POST", URL(url)), []))


def sent_headers(call: Any) -> dict[str, str]:
    return {k: v for k, v in dict(call.kwargs["headers"]).items() if k != "User-Agent"}


def sent_json(call: Any) -> Any:
    return json.loads(call.kwargs["data"])


class _CompatResponse(ClientResponse):
    """aioresponses 0.7.x builds responses without the ``stream_writer`` that aiohttp 3.14
    requires (pnuckowski/aioresponses#289); hand it a finished writer."""

    def __init__(self, method: str, url: URL, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(method, url, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(ClientResponse.__init__).parameters


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    if _NEEDS_STREAM_WRITER:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m


# -- the exact requests ------------------------------------------------------------------------


async def test_token_request_is_exact(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload())
    mocked.post(UPLOAD_URL, payload=OK)
    client = AiccClient("hw", "huawei", aicc(token_lifetime=900))
    try:
        await client.upload(wav_upload())
    finally:
        await client.aclose()
    [call] = calls(mocked, TOKEN_URL)
    assert sent_headers(call) == {"Content-Type": "application/json", "X-Token-Expire": "900"}
    assert sent_json(call) == {"app_key": KEY, "app_secret": SECRET}


async def test_upload_request_is_exact(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload("tok-abc"))
    mocked.post(UPLOAD_URL, payload=OK)
    client = AiccClient("hw", "huawei", aicc())
    try:
        audio = await client.upload(wav_upload(purpose="ivr"))
    finally:
        await client.aclose()
    [call] = calls(mocked, UPLOAD_URL)
    assert sent_headers(call) == {
        "Content-Type": "application/json",
        "Authorization": "Bearer tok-abc",
        "X-APP-Key": KEY,
    }
    assert sent_json(call) == {
        "fileInfo": base64.b64encode(WAV).decode("ascii"),
        "locale": "en_US",
        "voiceType": "0",
        "fileType": "wav",
        "callBackUrl": CALLBACK,
        "voiceFileName": "Welcome01",
    }
    assert audio == AudioFile(
        file_id="1182733043937561608", provider="hw", status=AudioStatus.PENDING
    )


async def test_without_a_callback_url_and_name_those_fields_are_left_out(
    mocked: aioresponses,
) -> None:
    mocked.post(TOKEN_URL, payload=token_payload())
    mocked.post(UPLOAD_URL, payload=OK)
    client = AiccClient("hw", "huawei", aicc(review_callback_url=None))
    try:
        await client.upload(wav_upload(name=None, filename="---.wav", language="zh"))
    finally:
        await client.aclose()
    body = sent_json(calls(mocked, UPLOAD_URL)[0])
    assert set(body) == {"fileInfo", "locale", "voiceType", "fileType"}
    assert body["locale"] == "zh_CN"
    assert body["voiceType"] == "3"


async def test_the_token_is_cached_across_uploads(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload())
    mocked.post(UPLOAD_URL, payload=OK, repeat=True)
    client = AiccClient("hw", "huawei", aicc(rate_limit=1000))
    try:
        for _ in range(3):
            await client.upload(wav_upload())
    finally:
        await client.aclose()
    assert len(calls(mocked, TOKEN_URL)) == 1
    assert len(calls(mocked, UPLOAD_URL)) == 3
    assert client.tokens.fetches == 1


async def test_a_401_renews_the_token_once_and_retries(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload("tok-old"))
    mocked.post(TOKEN_URL, payload=token_payload("tok-new"))
    mocked.post(UPLOAD_URL, status=401, payload={"returnCode": "1", "description": "expired"})
    mocked.post(UPLOAD_URL, payload=OK)
    client = AiccClient("hw", "huawei", aicc(rate_limit=1000))
    try:
        audio = await client.upload(wav_upload())
    finally:
        await client.aclose()
    assert audio.file_id == OK["fileId"]
    assert len(calls(mocked, TOKEN_URL)) == 2
    uploads = calls(mocked, UPLOAD_URL)
    assert [sent_headers(c)["Authorization"] for c in uploads] == [
        "Bearer tok-old",
        "Bearer tok-new",
    ]


async def test_a_second_401_is_an_authentication_error(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload(), repeat=True)
    mocked.post(UPLOAD_URL, status=401, body=b"", repeat=True)
    client = AiccClient("hw", "huawei", aicc(rate_limit=1000))
    try:
        with pytest.raises(AuthenticationError) as caught:
            await client.upload(wav_upload())
    finally:
        await client.aclose()
    assert caught.value.code == "HTTP 401"
    assert caught.value.provider == "hw"
    assert caught.value.plugin == "huawei"
    assert len(calls(mocked, TOKEN_URL)) == 2
    assert len(calls(mocked, UPLOAD_URL)) == 2


# -- refused locally, before anything is sent -----------------------------------------------


@pytest.mark.parametrize(
    ("upload", "error", "field"),
    [
        (wav_upload(data=WAV + b"\x00" * (MAX_FILE_BYTES - len(WAV) + 1)), ValidationError, "data"),
        (wav_upload(language="vi"), UnsupportedFeature, "language"),
        (wav_upload(language="en-GB"), UnsupportedFeature, "language"),
        (wav_upload(purpose="music"), ValidationError, "purpose"),
        (wav_upload(data=b"OggS" + b"\x00" * 60, filename="a.ogg"), ValidationError, "data"),
        (wav_upload(filename="welcome.mp3"), ValidationError, "filename"),
        (wav_upload(name="Welcome 01"), ValidationError, "name"),
        (wav_upload(name="x" * 51), ValidationError, "name"),
        (wav_upload(name=""), ValidationError, "name"),
        (wav_upload(name=12), ValidationError, "name"),
        (wav_upload(purpose=None), ValidationError, "purpose"),
    ],
)
async def test_bad_uploads_are_refused_before_sending(
    mocked: aioresponses, upload: AudioUpload, error: type[VoiceError], field: str
) -> None:
    client = AiccClient("hw", "huawei", aicc())
    try:
        with pytest.raises(error) as caught:
            await client.upload(upload)
    finally:
        await client.aclose()
    assert caught.value.message.split()[0] == field
    assert caught.value.provider == "hw"
    assert mocked.requests == {}


def test_exactly_8_mib_is_still_accepted() -> None:
    data = WAV + b"\x00" * (MAX_FILE_BYTES - len(WAV))
    body = upload_body(wav_upload(data=data), callback_url=None)
    assert len(base64.b64decode(body["fileInfo"])) == MAX_FILE_BYTES == 8 * 1024 * 1024


# -- the pure pieces ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "locale"),
    [
        ("zh-CN", "zh_CN"),
        ("en-US", "en_US"),
        ("pt-BR", "pt_BR"),
        ("th-TH", "th_TH"),
        ("EN-us", "en_US"),
        ("en", "en_US"),
        ("zh", "zh_CN"),
        ("pt", "pt_BR"),
        ("th", "th_TH"),
    ],
)
def test_locale_from_bcp47(language: str, locale: str) -> None:
    assert locale_for(language) == locale


@pytest.mark.parametrize("language", ["vi", "en-GB", "pt-PT", "zh-TW", "ja-JP", "fr"])
def test_other_languages_are_unsupported(language: str) -> None:
    with pytest.raises(UnsupportedFeature, match="^language"):
        locale_for(language)


@pytest.mark.parametrize(
    ("purpose", "voice_type"),
    [("ivr", "0"), ("prompt", "1"), ("fault", "2"), ("notification", "3"), ("IVR", "0")],
)
def test_voice_type_from_purpose(purpose: str, voice_type: str) -> None:
    assert voice_type_for(purpose) == voice_type


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (WAV, "wav"),
        (MP3_FRAME, "mp3"),
        (ID3_MP3, "mp3"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x05" + b"TIT2\x00" + b"OggS" * 4, None),
        (bytes([0xFF, 0xFD, 0x90, 0x64]), None),  # Layer II, not MP3
        (bytes([0xFF, 0xFB, 0xF0, 0x64]), None),  # bad bitrate index
        (b"RIFF\x00\x00\x00\x00AVI LIST", None),
        (b"fLaC" + b"\x00" * 40, None),
        (b"", None),
    ],
)
def test_file_type_comes_from_the_content(data: bytes, kind: str | None) -> None:
    assert detect_file_type(data) == kind


def test_file_type_ignores_a_misleading_extension_only_when_it_is_not_wav_or_mp3() -> None:
    body = upload_body(wav_upload(data=MP3_FRAME, filename="greeting.audio"), callback_url=None)
    assert body["fileType"] == "mp3"
    body = upload_body(wav_upload(data=ID3_MP3, filename="GREETING.MP3"), callback_url=None)
    assert body["fileType"] == "mp3"


@pytest.mark.parametrize(
    ("filename", "name"),
    [
        ("My Greeting-01.wav", "MyGreeting01"),
        ("问候 语.mp3", "问候语"),
        ("/srv/audio/promo_2024.wav", "promo2024"),
        ("C:\\audio\\x.y.wav", "xy"),
        ("---.wav", None),
        ("a" * 80 + ".wav", "a" * 50),
    ],
)
def test_voice_file_name_is_derived_from_the_file_name(filename: str, name: str | None) -> None:
    assert voice_file_name(wav_upload(filename=filename, name=None)) == name


def test_an_explicit_chinese_name_is_kept() -> None:
    assert voice_file_name(wav_upload(name="欢迎Welcome1")) == "欢迎Welcome1"


def test_token_request_and_upload_headers() -> None:
    headers, body = token_request(aicc(token_lifetime=3600))
    assert headers == {"Content-Type": "application/json", "X-Token-Expire": "3600"}
    assert body == {"app_key": KEY, "app_secret": SECRET}
    assert upload_headers("t0k", "k") == {
        "Content-Type": "application/json",
        "Authorization": "Bearer t0k",
        "X-APP-Key": "k",
    }


def response(status: int, body: Any, headers: dict[str, str] | None = None) -> HttpResponse:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return HttpResponse(status=status, headers=headers or {}, body=raw, url=UPLOAD_URL)


def test_token_lifetime_is_the_shorter_of_asked_and_granted() -> None:
    token = token_from_response(
        response(200, token_payload(expires="300")), requested=600, obtained_at=100.0, provider="hw"
    )
    assert token.lifetime == 300
    assert token.expires_at == 400.0
    assert token.refresh_at == 370.0  # a tenth of the life, at most 60 s, before expiry
    long = token_from_response(
        response(200, token_payload(expires="soon")), requested=600, obtained_at=0.0, provider="hw"
    )
    assert long.lifetime == 600
    assert long.refresh_at == 540.0


def test_a_token_is_fresh_until_its_refresh_point() -> None:
    token = AccessToken("v", lifetime=600, obtained_at=1000.0)
    assert token.fresh(1000.0)
    assert token.fresh(1539.9)
    assert not token.fresh(1540.0)


# -- error mapping -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "headers", "error", "code"),
    [
        (404, b"<html>Not Found</html>", {}, NotFound, "HTTP 404"),
        (429, {"returnCode": "1"}, {"Retry-After": "2"}, RateLimited, "HTTP 429"),
        (500, {"returnCode": "1", "description": "locale invalid"}, {}, InvalidRequest, "HTTP 500"),
        (200, {"returnCode": "1000", "description": "nope"}, {}, ProviderError, "1000"),
        (200, {"returnCode": 7}, {}, ProviderError, "7"),
        (502, b"bad gateway", {}, ProviderUnavailable, "HTTP 502"),
        (503, b"", {}, ProviderUnavailable, "HTTP 503"),
        (400, b"", {}, InvalidRequest, "HTTP 400"),
    ],
)
def test_upload_failures_map_through_the_code_table(
    status: int, body: Any, headers: dict[str, str], error: type[VoiceError], code: str
) -> None:
    with pytest.raises(error) as caught:
        audio_file_from_response(response(status, body, headers), provider="hw")
    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.provider == "hw"
    assert caught.value.call_placed in (False, None)
    if status == 429:
        assert caught.value.retry_after == 2.0
        assert caught.value.retryable
    if status == 500:
        assert "locale invalid" in caught.value.message
        assert not caught.value.retryable


@pytest.mark.parametrize(
    "body",
    [b"", b"<html>ok</html>", b"[]", {"returnCode": "0"}, {"returnCode": "0", "fileId": ""}, {}],
)
def test_an_unreadable_success_is_outcome_unknown(body: Any) -> None:
    with pytest.raises(OutcomeUnknown) as caught:
        audio_file_from_response(response(200, body), provider="hw")
    assert caught.value.call_placed is None
    assert not caught.value.retryable


def test_a_numeric_file_id_is_kept_as_text() -> None:
    audio = audio_file_from_response(
        response(200, {"returnCode": "0", "fileId": 1290553711200348160}), provider="hw"
    )
    assert audio.file_id == "1290553711200348160"


@pytest.mark.parametrize(
    ("status", "body", "error", "code"),
    [
        (401, {"returnCode": "1", "description": "bad key"}, AuthenticationError, "token/HTTP 401"),
        (400, b"", AuthenticationError, "token/HTTP 400"),
        (403, {"error_code": "APIG.0301"}, AuthenticationError, "token/HTTP 403"),
        (418, b"", AuthenticationError, "token/HTTP 418"),
        (429, b"", RateLimited, "token/HTTP 429"),
        (500, b"", ProviderUnavailable, "token/HTTP 5xx"),
        (503, b"", ProviderUnavailable, "token/HTTP 5xx"),
        (200, {"returnCode": "1", "description": "x"}, AuthenticationError, "token/no-token"),
        (200, b"garbage", AuthenticationError, "token/no-token"),
        (200, {"AccessToken": ""}, AuthenticationError, "token/no-token"),
    ],
)
async def test_token_failures_map_through_the_code_table(
    mocked: aioresponses, status: int, body: Any, error: type[VoiceError], code: str
) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    mocked.post(TOKEN_URL, status=status, body=raw)
    client = AiccClient("hw", "huawei", aicc())
    try:
        with pytest.raises(error) as caught:
            await client.upload(wav_upload())
    finally:
        await client.aclose()
    assert type(caught.value) is error
    assert caught.value.code == code
    assert caught.value.call_placed is False
    assert calls(mocked, UPLOAD_URL) == []


async def test_a_token_timeout_is_a_transport_error_not_an_unknown_outcome(
    mocked: aioresponses,
) -> None:
    mocked.post(TOKEN_URL, exception=TimeoutError())
    client = AiccClient("hw", "huawei", aicc())
    try:
        with pytest.raises(TransportError) as caught:
            await client.upload(wav_upload())
    finally:
        await client.aclose()
    assert type(caught.value) is TransportError
    assert caught.value.call_placed is False
    assert "no file was uploaded" in caught.value.message


async def test_an_upload_timeout_is_an_unknown_outcome(mocked: aioresponses) -> None:
    mocked.post(TOKEN_URL, payload=token_payload())
    mocked.post(UPLOAD_URL, exception=TimeoutError())
    client = AiccClient("hw", "huawei", aicc())
    try:
        with pytest.raises(OutcomeUnknown):
            await client.upload(wav_upload())
    finally:
        await client.aclose()


async def test_concurrent_callers_share_one_failed_token_fetch(mocked: aioresponses) -> None:
    async def slow_refusal(url: URL, **kwargs: Any) -> CallbackResult:
        await asyncio.sleep(0.05)  # the others queue up behind this fetch
        return CallbackResult(status=401, body=b"{}")

    mocked.post(TOKEN_URL, callback=slow_refusal, repeat=True)
    client = AiccClient("hw", "huawei", aicc())
    try:
        results = await asyncio.gather(
            *(client.upload(wav_upload()) for _ in range(5)), return_exceptions=True
        )
        assert all(isinstance(r, AuthenticationError) for r in results)
        assert len(calls(mocked, TOKEN_URL)) == 1
        # A later caller tries again: the credentials may have been fixed meanwhile.
        with pytest.raises(AuthenticationError):
            await client.upload(wav_upload())
        assert len(calls(mocked, TOKEN_URL)) == 2
    finally:
        await client.aclose()


async def test_no_secret_or_token_in_errors_or_logs(
    mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    echo = {"returnCode": "1", "description": f"bad app_secret {SECRET}"}
    mocked.post(TOKEN_URL, status=401, payload=echo)
    mocked.post(TOKEN_URL, payload=token_payload("tok-Private-123"))
    mocked.post(UPLOAD_URL, status=500, payload={"description": "token tok-Private-123 bad"})
    client = AiccClient("hw", "huawei", aicc())
    errors: list[VoiceError] = []
    try:
        for _ in range(2):
            try:
                await client.upload(wav_upload())
            except VoiceError as exc:
                errors.append(exc)
    finally:
        await client.aclose()
    assert [type(e) for e in errors] == [AuthenticationError, InvalidRequest]
    texts = [str(e) for e in errors] + [repr(e) for e in errors] + [caplog.text]
    texts += [str(arg) for e in errors for arg in e.args]
    for text in texts:
        assert SECRET not in text
        assert "tok-Private-123" not in text
    assert "***" in str(errors[0])


# -- property: any answer gives a model or a VoiceError ----------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=10,
)
_envelopes = st.fixed_dictionaries(
    {},
    optional={
        "returnCode": st.one_of(st.just("0"), st.just(0), _json_values),
        "fileId": _json_values,
        "description": _json_values,
        "AccessToken": _json_values,
        "Expires": _json_values,
    },
).map(lambda d: json.dumps(d).encode())
_bodies = st.one_of(st.binary(max_size=200), _envelopes)


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=100, max_value=599), body=_bodies)
def test_any_upload_answer_gives_a_file_or_a_voice_error(status: int, body: bytes) -> None:
    try:
        audio = audio_file_from_response(response(status, body), provider="hw")
    except VoiceError:
        return
    assert isinstance(audio, AudioFile)
    assert audio.file_id
    assert audio.status is AudioStatus.PENDING


@settings(max_examples=300, deadline=None)
@given(status=st.integers(min_value=100, max_value=599), body=_bodies)
def test_any_token_answer_gives_a_token_or_a_voice_error(status: int, body: bytes) -> None:
    try:
        token = token_from_response(
            response(status, body), requested=600, obtained_at=0.0, provider="hw"
        )
    except (AuthenticationError, RateLimited, ProviderUnavailable):
        return  # the token table's classes: any other exception fails the test
    assert token.value
    assert 0 < token.lifetime <= 600
