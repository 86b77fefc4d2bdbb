"""Huawei AICC (CEC): upload a voice file, follow its review, then play it.

Huawei's call platforms play only audio that was uploaded and approved first. This module is
the AICC side of that path (spec §16):

* :class:`AiccSettings` — the ``aicc`` table inside a Huawei provider's settings;
* :class:`TokenCache` — the ``tokenByAkSk`` token: fetched on first use, cached, shared by
  concurrent uploads, refreshed shortly before it expires and once after a 401;
* :class:`AiccClient` — ``upload(AudioUpload) -> AudioFile`` (status ``pending``), spacing
  uploads so that no second ever carries more than ``rate_limit`` of them;
* :func:`parse_review` — the review callback AICC posts to ``review_callback_url``, turned into
  an ``audio_reviewed`` event; :data:`REVIEW_ACK` / :data:`REVIEW_NACK` are the answers;
* :data:`AICC_CODES` — AICC failures as a code table.

The pipeline reads top to bottom: validate (:func:`upload_body`) → build the wire request
(:func:`upload_headers`) → authenticate (:class:`TokenCache`) → send (:class:`AiccClient`) →
parse and map (:func:`audio_file_from_response`). Everything but the client is pure.

>>> body = upload_body(AudioUpload(data=b"ID3\\x04\\x00\\x00\\x00\\x00\\x00\\x00" + bytes(
...     [0xFF, 0xFB, 0x90, 0x64]), filename="hello.mp3", language="en-US"), callback_url=None)
>>> body["locale"], body["voiceType"], body["fileType"], body["voiceFileName"]
('en_US', '3', 'mp3', 'hello')
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

import attrs
from aiolimiter import AsyncLimiter

from voicegw.codes import CodeEntry, CodeTable
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
from voicegw.http import HttpResponse, ProviderHttp, error_for_status, parse_retry_after
from voicegw.models import AudioFile, AudioStatus, AudioUpload, CallEvent, EventKind
from voicegw.provider import WebhookReply

__all__ = [
    "AICC_CODES",
    "DEFAULT_BASE_URL",
    "MAX_FILE_BYTES",
    "REVIEW_ACK",
    "REVIEW_NACK",
    "TOKEN_PATH",
    "UPLOAD_PATH",
    "AccessToken",
    "AiccClient",
    "AiccSettings",
    "TokenCache",
    "audio_file_from_response",
    "detect_file_type",
    "locale_for",
    "parse_review",
    "token_error",
    "token_from_response",
    "token_request",
    "upload_body",
    "upload_headers",
    "voice_file_name",
    "voice_type_for",
]

logger = logging.getLogger("voicegw.huawei.aicc")

PLUGIN: Final = "huawei"

#: Huawei's public-cloud CEC domain (spec §16.1; older pages add port 28070).
DEFAULT_BASE_URL: Final = "https://service.besclouds.com"
TOKEN_PATH: Final = "/apigovernance/api/oauth/tokenByAkSk"  # noqa: S105 - a path
UPLOAD_PATH: Final = "/apiaccess/rest/cc-management/v1/importVoiceFile/upload"

#: ``X-Token-Expire`` may not exceed 3600 s [doc]. The platform's default when the header is
#: absent is UNVERIFIED, so we always send it; our default is the documented example, 600 s.
MAX_TOKEN_LIFETIME: Final = 3600
MIN_TOKEN_LIFETIME: Final = 60
DEFAULT_TOKEN_LIFETIME: Final = 600
#: A token is refreshed this long before it expires: a tenth of its life, at most a minute.
MAX_REFRESH_MARGIN: Final = 60.0

#: "The maximum size is 8 MB" for ``fileInfo``; the spec reads it as the decoded file size
#: and we read MB as MiB (8 × 1024 × 1024 bytes), checked before anything is sent.
MAX_FILE_BYTES: Final = 8 * 1024 * 1024
MAX_NAME_LENGTH: Final = 50

#: The documented flow control: 10 upload requests per second [doc][seed].
DEFAULT_RATE_LIMIT: Final = 10.0
#: Uploads leave at least ``RATE_MARGIN / rate_limit`` seconds apart (110 ms at 10/s): evenly
#: spaced rather than in bursts, with room for network jitter, so that no one-second window
#: on AICC's side ever sees more than ``rate_limit`` of them.
RATE_MARGIN: Final = 1.1

#: BCP-47 language → AICC ``locale``. A bare language maps to AICC's only locale for it; any
#: other region (``en-GB``, ``pt-PT``, ``zh-TW``) is refused rather than silently relabelled.
LOCALES: Final[Mapping[str, str]] = {
    "zh-cn": "zh_CN",
    "zh": "zh_CN",
    "en-us": "en_US",
    "en": "en_US",
    "pt-br": "pt_BR",
    "pt": "pt_BR",
    "th-th": "th_TH",
    "th": "th_TH",
}

#: ``AudioUpload.purpose`` → AICC ``voiceType`` (spec §16.2).
VOICE_TYPES: Final[Mapping[str, str]] = {
    "ivr": "0",
    "prompt": "1",
    "fault": "2",
    "notification": "3",
}

#: Review-callback ``status`` → our status (spec §16.3).
REVIEW_STATUSES: Final[Mapping[str, AudioStatus]] = {
    "2": AudioStatus.APPROVED,
    "3": AudioStatus.REJECTED,
}

#: What the receiver answers once it has stored a review result (spec §16.3).
REVIEW_ACK: Final = WebhookReply(200, b'{"returnCode":"0"}', "application/json")
#: What it answers when it could not store it: a non-"0" returnCode (and a 503), so AICC
#: tries again (at most 6 attempts in all).
REVIEW_NACK: Final = WebhookReply(503, b'{"returnCode":"1"}', "application/json")


# ---------------------------------------------------------------------------------------------
# Codes

#: AICC failures. The upload page lists "Error Codes: None" and the token endpoint's error
#: shape is UNVERIFIED, so codes are keyed by what we can see: ``HTTP <status>`` for the upload
#: endpoint, ``token/…`` for ``tokenByAkSk``, and any non-"0" ``returnCode`` of a 200 answer
#: raw (unknown ones raise the fallback :class:`ProviderError` and keep the raw code).
AICC_CODES: Final = CodeTable(
    PLUGIN,
    [
        CodeEntry("0", None, "success: the file was stored and is waiting for review"),
        CodeEntry(
            "HTTP 401",
            AuthenticationError,
            "the Bearer token was refused (expired or revoked) even after one fresh token",
        ),
        CodeEntry("HTTP 404", NotFound, "wrong URL or path: check aicc.base_url"),
        CodeEntry(
            "HTTP 429",
            RateLimited,
            "flow control: more than 10 uploads per second (error shape UNVERIFIED)",
        ),
        CodeEntry(
            "HTTP 500",
            InvalidRequest,
            "business failure: AICC refused a parameter of the upload (documented meaning of 500)",
        ),
        CodeEntry(
            "token/HTTP 400",
            AuthenticationError,
            "tokenByAkSk refused the request: check aicc.app_key and aicc.app_secret",
        ),
        CodeEntry(
            "token/HTTP 401",
            AuthenticationError,
            "tokenByAkSk refused aicc.app_key / aicc.app_secret",
        ),
        CodeEntry(
            "token/HTTP 403",
            AuthenticationError,
            "tokenByAkSk refused this app (not allowed or disabled)",
        ),
        CodeEntry("token/HTTP 429", RateLimited, "tokenByAkSk flow control"),
        CodeEntry(
            "token/HTTP 5xx",
            ProviderUnavailable,
            "tokenByAkSk failed on AICC's side; no file was uploaded",
            retryable=True,
        ),
        CodeEntry(
            "token/no-token",
            AuthenticationError,
            "tokenByAkSk answered without an AccessToken (treated as a refusal of the "
            "credentials: the error shape is UNVERIFIED)",
        ),
    ],
    prefixes={"token/": AuthenticationError},
    fallback=ProviderError,
)


# ---------------------------------------------------------------------------------------------
# Settings


def _http_url(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ValidationError(f"{attribute.name} must be an http(s) URL, got {value!r}")


def _optional_http_url(
    instance: object, attribute: attrs.Attribute[Any], value: str | None
) -> None:
    if value is not None:
        _http_url(instance, attribute, value)


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    # Never echo the value: it may be a secret.
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be a non-empty string")


def _token_lifetime(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not MIN_TOKEN_LIFETIME <= value <= MAX_TOKEN_LIFETIME
    ):
        raise ValidationError(
            f"{attribute.name} must be whole seconds from {MIN_TOKEN_LIFETIME} to "
            f"{MAX_TOKEN_LIFETIME} (X-Token-Expire maximum), got {value!r}"
        )


def _positive(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise ValidationError(f"{attribute.name} must be a number > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class AiccSettings:
    """The ``aicc`` table of a Huawei provider: where and how voice files are uploaded.

    ``token_lifetime`` is sent as ``X-Token-Expire`` (60 to 3600 s; default 600, the documented
    example). ``review_callback_url`` is sent as ``callBackUrl``: AICC posts the review result
    there (point it at the receiver's ``/hooks/<provider>/review``); without it you never learn
    the result. ``rate_limit`` is uploads per second for this provider (AICC allows 10).
    ``timeout`` bounds one request in seconds; an 8 MB upload is large, hence 60.

    ::

        [providers.hw.aicc]
        app_key = "${AICC_APP_KEY}"
        app_secret = "${AICC_APP_SECRET}"
        review_callback_url = "https://hooks.example.org/hooks/hw/review"
    """

    base_url: str = attrs.field(default=DEFAULT_BASE_URL, validator=_http_url)
    app_key: str = attrs.field(validator=_non_empty)
    app_secret: str = attrs.field(repr=False, validator=_non_empty)
    token_lifetime: int = attrs.field(default=DEFAULT_TOKEN_LIFETIME, validator=_token_lifetime)
    review_callback_url: str | None = attrs.field(default=None, validator=_optional_http_url)
    rate_limit: float = attrs.field(default=DEFAULT_RATE_LIMIT, validator=_positive)
    timeout: float = attrs.field(default=60.0, validator=_positive)


# ---------------------------------------------------------------------------------------------
# Tokens (pure parts)


def refresh_margin(lifetime: float) -> float:
    """How long before expiry a token of ``lifetime`` seconds is replaced."""
    return min(MAX_REFRESH_MARGIN, lifetime / 10)


@attrs.frozen
class AccessToken:
    """A ``tokenByAkSk`` token and when it was obtained (on the client's monotonic clock)."""

    value: str = attrs.field(repr=False)
    lifetime: float
    obtained_at: float

    @property
    def expires_at(self) -> float:
        """When AICC stops accepting it (clock seconds)."""
        return self.obtained_at + self.lifetime

    @property
    def refresh_at(self) -> float:
        """When we stop using it and fetch a new one (clock seconds)."""
        return self.expires_at - refresh_margin(self.lifetime)

    def fresh(self, now: float) -> bool:
        """True while the token may still be used at ``now``."""
        return now < self.refresh_at


def token_request(settings: AiccSettings) -> tuple[dict[str, str], dict[str, str]]:
    """Headers and JSON body of the ``tokenByAkSk`` request (spec §16.1)."""
    headers = {
        "Content-Type": "application/json",
        "X-Token-Expire": str(settings.token_lifetime),
    }
    body = {"app_key": settings.app_key, "app_secret": settings.app_secret}
    return headers, body


def _json_object(response: HttpResponse) -> dict[str, Any] | None:
    try:
        data = response.json()
    except (ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _envelope_detail(envelope: Mapping[str, Any] | None, response: HttpResponse) -> str:
    """The provider's own words: its code and description if it sent any, else the body."""
    if envelope:
        parts = []
        for key in ("returnCode", "retCode", "error_code", "errorCode", "resultCode", "code"):
            if key in envelope and isinstance(envelope[key], str | int):
                parts.append(f"{key} {envelope[key]}")
                break
        for key in ("description", "retMsg", "error_msg", "errorMsg", "resultDesc", "message"):
            if isinstance(envelope.get(key), str) and envelope[key].strip():
                parts.append(envelope[key].strip())
                break
        if parts:
            return ": ".join(parts)[:300]
    return response.snippet()


def token_error(
    response: HttpResponse, *, provider: str, secrets: Iterable[str] = ()
) -> VoiceError:
    """The error for a ``tokenByAkSk`` answer that carries no token.

    The error shape is UNVERIFIED: we decide from the HTTP status alone and keep whatever
    code and description the body holds in the message. No file was uploaded in any case.
    """
    status = response.status
    if 200 <= status < 300:
        code = "token/no-token"
    elif status >= 500:
        code = "token/HTTP 5xx"
    else:
        code = f"token/HTTP {status}"
    detail = f"HTTP {status}: " + _envelope_detail(_json_object(response), response)
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    return AICC_CODES.error(
        code, _redact(detail, secrets), provider=provider, retry_after=retry_after
    )


def token_from_response(
    response: HttpResponse,
    *,
    requested: int,
    obtained_at: float,
    provider: str,
    secrets: Iterable[str] = (),
) -> AccessToken:
    """The token in a ``tokenByAkSk`` answer, or raise the matching :class:`VoiceError`.

    The lifetime is the shorter of what we asked for and the ``Expires`` AICC granted, counted
    from ``obtained_at`` (taken before the request left, so never later than AICC's own clock).
    """
    envelope = _json_object(response) if 200 <= response.status < 300 else None
    value = envelope.get("AccessToken") if envelope else None
    if not isinstance(value, str) or not value.strip():
        raise token_error(response, provider=provider, secrets=secrets)
    lifetime: float = requested
    granted = envelope.get("Expires") if envelope else None
    if isinstance(granted, str | int) and not isinstance(granted, bool):
        try:
            seconds = int(str(granted).strip())
        except ValueError:
            seconds = 0
        if 0 < seconds < requested:
            lifetime = seconds
    return AccessToken(value=value.strip(), lifetime=lifetime, obtained_at=obtained_at)


# ---------------------------------------------------------------------------------------------
# Upload (pure parts)

_NAME_CHAR = r"A-Za-z0-9\u4e00-\u9fff"
_NAME = re.compile(f"[{_NAME_CHAR}]{{1,{MAX_NAME_LENGTH}}}")
_NOT_NAME_CHAR = re.compile(f"[^{_NAME_CHAR}]")


def locale_for(language: str) -> str:
    """AICC's ``locale`` for a BCP-47 tag; :class:`UnsupportedFeature` for any other language.

    >>> locale_for("pt-BR"), locale_for("en")
    ('pt_BR', 'en_US')
    """
    key = str(language).strip().replace("_", "-").lower()
    try:
        return LOCALES[key]
    except KeyError:
        raise UnsupportedFeature(
            f"language {language!r} cannot be uploaded to AICC: it takes zh-CN, en-US, pt-BR "
            "and th-TH (or zh, en, pt, th)",
            plugin=PLUGIN,
        ) from None


def voice_type_for(purpose: str) -> str:
    """AICC's ``voiceType`` for ``AudioUpload.purpose``."""
    key = str(purpose).strip().lower()
    try:
        return VOICE_TYPES[key]
    except KeyError:
        raise ValidationError(
            f"purpose must be one of {', '.join(VOICE_TYPES)} for AICC, got {purpose!r}",
            plugin=PLUGIN,
        ) from None


def _mp3_frame_at(data: bytes, offset: int) -> bool:
    """True when an MPEG audio Layer III frame header starts at ``offset``."""
    header = data[offset : offset + 4]
    if len(header) < 4 or header[0] != 0xFF or header[1] & 0xE0 != 0xE0:
        return False
    version = (header[1] >> 3) & 0b11  # 01 is reserved
    layer = (header[1] >> 1) & 0b11  # 01 is Layer III
    bitrate = header[2] >> 4  # 1111 is invalid
    rate = (header[2] >> 2) & 0b11  # 11 is reserved
    return version != 0b01 and layer == 0b01 and bitrate != 0b1111 and rate != 0b11


def detect_file_type(data: bytes) -> str | None:
    """``"wav"`` or ``"mp3"`` from the content's own header, else None.

    A WAV file is RIFF/WAVE. An MP3 starts with an MPEG Layer III frame, or with an ID3v2 tag
    that a Layer III frame follows.
    """
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if len(data) >= 10 and data[:3] == b"ID3" and data[3] != 0xFF and data[4] != 0xFF:
        size_bytes = data[6:10]
        if all(b < 0x80 for b in size_bytes):
            size = 0
            for b in size_bytes:
                size = (size << 7) | b
            offset = 10 + size + (10 if data[5] & 0x10 else 0)
            if _mp3_frame_at(data, offset):
                return "mp3"
        return None
    if _mp3_frame_at(data, 0):
        return "mp3"
    return None


def _file_type(upload: AudioUpload) -> str:
    kind = detect_file_type(upload.data)
    if kind is None:
        raise ValidationError(
            f"data must be a WAV or MP3 file (its header is neither), filename {upload.filename!r}",
            plugin=PLUGIN,
        )
    extension = upload.filename.rsplit(".", 1)[-1].lower() if "." in upload.filename else ""
    if extension in {"wav", "mp3"} and extension != kind:
        raise ValidationError(
            f"filename {upload.filename!r} says {extension} but the data is a {kind} file",
            plugin=PLUGIN,
        )
    return kind


def voice_file_name(upload: AudioUpload) -> str | None:
    """``voiceFileName``: ``upload.name`` checked, or derived from the file name.

    AICC allows at most 50 characters, only Chinese characters, letters and digits. An
    explicit ``name`` that breaks the rule is refused; a name derived from ``filename`` drops
    the extension and every other character, and is left out when nothing remains.
    """
    if upload.name is not None:
        if not isinstance(upload.name, str) or not _NAME.fullmatch(upload.name):
            raise ValidationError(
                f"name must be 1 to {MAX_NAME_LENGTH} characters, only Chinese characters, "
                f"letters A-Z a-z and digits, got {upload.name!r}",
                plugin=PLUGIN,
            )
        return upload.name
    base = re.split(r"[\\/]", upload.filename)[-1]
    stem = base.rsplit(".", 1)[0] if "." in base else base
    derived = _NOT_NAME_CHAR.sub("", stem)[:MAX_NAME_LENGTH]
    return derived or None


def upload_body(upload: AudioUpload, *, callback_url: str | None) -> dict[str, str]:
    """The JSON body of the upload request, after every local check (spec §16.2).

    Raises :class:`ValidationError` (naming the ``AudioUpload`` field) before anything is sent.
    """
    if len(upload.data) > MAX_FILE_BYTES:
        raise ValidationError(
            f"data is {len(upload.data)} bytes; AICC takes at most {MAX_FILE_BYTES} (8 MB)",
            plugin=PLUGIN,
        )
    locale = locale_for(upload.language)
    voice_type = voice_type_for(upload.purpose)
    file_type = _file_type(upload)
    name = voice_file_name(upload)
    body = {
        "fileInfo": base64.b64encode(upload.data).decode("ascii"),
        "locale": locale,
        "voiceType": voice_type,
        "fileType": file_type,
    }
    if callback_url:
        body["callBackUrl"] = callback_url
    if name:
        body["voiceFileName"] = name
    return body


def upload_headers(token: str, app_key: str) -> dict[str, str]:
    """Headers of the upload request: the Bearer token (one space) and the app key."""
    return {
        "Content-Type": "application/json",
        "Authorization": f"Bearer {token}",
        "X-APP-Key": app_key,
    }


def audio_file_from_response(
    response: HttpResponse,
    *,
    provider: str,
    plugin: str = PLUGIN,
    secrets: Iterable[str] = (),
) -> AudioFile:
    """The pending :class:`AudioFile` in an upload answer, or raise the matching error.

    * 200 with ``returnCode`` "0" and a ``fileId`` → the file, status ``pending``;
    * 200 with another ``returnCode`` → :data:`AICC_CODES` (unknown codes keep their value);
    * a 200 we cannot read, or "0" without a ``fileId`` → :class:`OutcomeUnknown` (the file
      may be stored);
    * any other status → ``HTTP <status>`` in :data:`AICC_CODES`, else the generic mapping.
    """
    envelope = _json_object(response)
    if 200 <= response.status < 300:
        code = envelope.get("returnCode") if envelope else None
        if not isinstance(code, str | int) or isinstance(code, bool):
            raise _garbled(response, "no returnCode", provider=provider, plugin=plugin)
        code = str(code).strip()
        if code == "0":
            file_id = envelope.get("fileId") if envelope else None
            if isinstance(file_id, int) and not isinstance(file_id, bool):
                file_id = str(file_id)
            if not isinstance(file_id, str) or not file_id.strip():
                raise _garbled(
                    response, "success without a fileId", provider=provider, plugin=plugin
                )
            return AudioFile(file_id=file_id.strip(), provider=provider, status=AudioStatus.PENDING)
        detail = _redact(_envelope_detail(envelope, response), secrets)
        return _raise(AICC_CODES.error(code, detail, provider=provider))
    key = f"HTTP {response.status}"
    if key in AICC_CODES:
        detail = _redact(_envelope_detail(envelope, response), secrets)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return _raise(AICC_CODES.error(key, detail, provider=provider, retry_after=retry_after))
    error = error_for_status(response, provider=provider, plugin=plugin)
    error.message = _redact(error.message, secrets)
    error.args = (error.message,)
    return _raise(error)


def _raise(error: VoiceError) -> AudioFile:
    raise error


def _garbled(response: HttpResponse, why: str, *, provider: str, plugin: str) -> OutcomeUnknown:
    """A 2xx upload answer we cannot read: AICC may have stored the file."""
    return OutcomeUnknown(
        f"unreadable upload answer (HTTP {response.status}, {why}); the file may have been "
        f"stored: {response.snippet()!r}",
        provider=provider,
        plugin=plugin,
    )


# ---------------------------------------------------------------------------------------------
# Review callback (pure)


def _bad_review(why: str, provider: str) -> InvalidRequest:
    return InvalidRequest(f"not an AICC review callback: {why}", provider=provider, plugin=PLUGIN)


def parse_review(body: bytes, provider_name: str) -> list[CallEvent]:
    """Turn AICC's review callback (spec §16.3) into one ``audio_reviewed`` event.

    The callback carries no authentication (UNVERIFIED: none is documented), so nothing is
    verified; the event only reports a file's review state, and the platform itself refuses
    to play a file it has not approved. ``call_id`` is the ``fileId``. Any body that is not
    the documented JSON raises :class:`InvalidRequest`; answer it with :data:`REVIEW_NACK`.

    >>> [event] = parse_review(b'{"fileId": "12", "status": "3", "comment": "noise"}', "hw")
    >>> event.kind.value, event.audio.status.value, event.audio.comment
    ('audio_reviewed', 'rejected', 'noise')
    """
    try:
        data = json.loads(bytes(body).decode("utf-8"))
    except (ValueError, TypeError, RecursionError):
        raise _bad_review("the body is not JSON", provider_name) from None
    if not isinstance(data, dict):
        raise _bad_review("the body is not a JSON object", provider_name)
    file_id = data.get("fileId")
    if isinstance(file_id, int) and not isinstance(file_id, bool):
        file_id = str(file_id)
    if not isinstance(file_id, str) or not file_id.strip() or len(file_id) > 128:
        raise _bad_review("fileId is missing or not a string", provider_name)
    raw_status = data.get("status")
    if isinstance(raw_status, bool) or not isinstance(raw_status, str | int):
        raise _bad_review("status is missing", provider_name)
    status = REVIEW_STATUSES.get(str(raw_status).strip())
    if status is None:
        raise _bad_review(
            f"status must be 2 (approved) or 3 (rejected), got {raw_status!r}"[:160], provider_name
        )
    comment = data.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise _bad_review("comment is not a string", provider_name)
    file_url = data.get("fileUrl")
    if file_url is not None and not isinstance(file_url, str):
        raise _bad_review("fileUrl is not a string", provider_name)
    audio = AudioFile(
        file_id=file_id.strip(),
        provider=provider_name,
        status=status,
        comment=comment or None,
    )
    event = CallEvent(
        kind=EventKind.AUDIO_REVIEWED,
        call_id=audio.file_id,
        provider=provider_name,
        audio=audio,
        raw=data,
    )
    return [event]


# ---------------------------------------------------------------------------------------------
# I/O: the token cache and the client


class TokenCache:
    """The AICC token of one provider, shared by all its uploads.

    One fetch serves every concurrent caller; a token is replaced ``refresh_margin`` seconds
    before it expires, and at once after AICC refused it (:meth:`invalidate`). Callers queued
    behind a fetch that failed get that failure instead of fetching again each. The token is
    never logged.
    """

    def __init__(
        self,
        http: ProviderHttp,
        settings: AiccSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._http = http
        self._settings = settings
        self._clock = clock
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()
        self._completed = 0
        self._last_error: VoiceError | None = None
        #: How many token requests were sent (for tests and metrics).
        self.fetches = 0

    def __repr__(self) -> str:
        state = "empty" if self._token is None else f"valid for {self._remaining():.0f}s"
        return f"<TokenCache {self._http.provider!r} {state}>"

    def _remaining(self) -> float:
        return 0.0 if self._token is None else self._token.expires_at - self._clock()

    async def get(self) -> AccessToken:
        """A usable token: the cached one while it is fresh, else a new one (one fetch)."""
        token = self._token
        if token is not None and token.fresh(self._clock()):
            return token
        seen = self._completed
        async with self._lock:
            token = self._token
            if token is not None and token.fresh(self._clock()):
                return token
            if self._completed != seen and self._last_error is not None:
                # A fetch finished while we waited, and failed: share its answer.
                raise self._last_error
            try:
                token = await self._fetch()
            except VoiceError as exc:
                self._last_error = exc
                raise
            finally:
                self._completed += 1
            self._last_error = None
            self._token = token
            return token

    def invalidate(self, token: AccessToken) -> None:
        """Forget ``token`` after AICC refused it (no-op if it was already replaced)."""
        if self._token is token:
            self._token = None

    async def _fetch(self) -> AccessToken:
        settings = self._settings
        headers, body = token_request(settings)
        obtained_at = self._clock()
        self.fetches += 1
        try:
            response = await self._http.request("POST", TOKEN_PATH, headers=headers, json_body=body)
        except OutcomeUnknown as exc:
            # Unknown for a token is harmless: no file was sent, so the upload surely failed.
            raise TransportError(
                f"the token request failed ({exc.message}); no file was uploaded",
                provider=exc.provider,
                plugin=exc.plugin,
            ) from exc
        token = token_from_response(
            response,
            requested=settings.token_lifetime,
            obtained_at=obtained_at,
            provider=self._http.provider,
            secrets=(settings.app_secret,),
        )
        logger.info(
            "AICC token obtained for %s, valid %ds", self._http.provider, int(token.lifetime)
        )
        return token


class AiccClient:
    """Uploads voice files to Huawei AICC for one provider.

    It owns one :class:`~voicegw.http.ProviderHttp` for ``settings.base_url``, one
    :class:`TokenCache` and one rate limiter: all uploads of the provider share the token and
    are spaced so that AICC never sees more than ``rate_limit`` per second.

    ::

        client = AiccClient("hw", "huawei", settings)
        audio = await client.upload(AudioUpload(data=wav, filename="hello.wav", language="en-US"))
        # audio.status == "pending"; the review result arrives at review_callback_url
        await client.aclose()
    """

    def __init__(
        self,
        name: str,
        plugin: str,
        settings: AiccSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.plugin = plugin
        self.settings = settings
        self.http = ProviderHttp(
            provider=name, plugin=plugin, base_url=settings.base_url, timeout=settings.timeout
        )
        self.tokens = TokenCache(self.http, settings, clock=clock)
        self.limiter = AsyncLimiter(1, RATE_MARGIN / settings.rate_limit)

    def __repr__(self) -> str:
        return f"<AiccClient {self.name!r} base_url={self.settings.base_url!r}>"

    async def upload(self, upload: AudioUpload) -> AudioFile:
        """Upload one file; returns it with status ``pending``.

        validate → build the body → token → send (rate-limited) → on a 401, one fresh token
        and one more try → parse. Raises only :class:`~voicegw.errors.VoiceError`.
        """
        try:
            body = upload_body(upload, callback_url=self.settings.review_callback_url)
        except VoiceError as exc:
            raise exc.with_context(provider=self.name, plugin=self.plugin) from None
        token = await self.tokens.get()
        response = await self._send(body, token)
        if response.status == 401:
            logger.info("AICC refused the token of %s (HTTP 401): renewing it once", self.name)
            self.tokens.invalidate(token)
            token = await self.tokens.get()
            response = await self._send(body, token)
        audio = audio_file_from_response(
            response,
            provider=self.name,
            plugin=self.plugin,
            secrets=(self.settings.app_secret, token.value),
        )
        logger.info(
            "uploaded %d bytes to AICC for %s: fileId %s pending review",
            len(upload.data),
            self.name,
            audio.file_id,
        )
        return audio

    async def _send(self, body: Mapping[str, str], token: AccessToken) -> HttpResponse:
        async with self.limiter:
            return await self.http.request(
                "POST",
                UPLOAD_PATH,
                headers=upload_headers(token.value, self.settings.app_key),
                json_body=body,
            )

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self.http.aclose()
