"""A faithful fake of Huawei AICC's voice-file upload: token, upload, review callback.

It serves ``POST /apigovernance/api/oauth/tokenByAkSk`` and
``POST /apiaccess/rest/cc-management/v1/importVoiceFile/upload`` (spec §16) and then reviews
each file, posting the result to its ``callBackUrl`` with retries:

* tokens: ``app_key``/``app_secret`` checked, ``X-Token-Expire`` honoured (1 to 3600 s;
  600 when absent — AICC's own default is UNVERIFIED), tokens expire on the emulator clock
  (``clock_skew`` moves it) and can be revoked (:meth:`AiccEmulator.revoke_tokens`);
* uploads: ``Authorization: Bearer <token>`` (one space) checked, ``X-APP-Key`` checked when
  present, flow control at ``upload_rate_limit`` requests in any one-second window, the 8 MB
  limit, every field of the body, and the content against ``fileType``;
* review: after ``review_delay`` simulated seconds (scaled by ``speed``) a file whose
  ``voiceFileName`` contains "reject" (any case) is rejected, any other approved; the callback
  is tried ``review_attempts`` times (6, as documented) every ``review_retry_interval`` seconds
  until the receiver answers 200 with ``{"returnCode": "0"}``.

Error shapes are UNVERIFIED at AICC; the emulator answers the documented HTTP statuses (401
for tokens it does not accept, 500 for "business failure", 404 for wrong paths) with the
upload page's envelope ``{"returnCode": "1", "description": "…"}``, and 429 for flow control.

Standalone: ``async with AiccEmulator() as emu`` and ``emu.provider_settings()`` gives the
``aicc`` table. Inside another emulator: ``AiccEmulator().mount(host)`` before ``host`` starts;
reviews then run as the host's tasks (its ``drain()`` waits for them) and use its clock.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import itertools
import json
import time
import uuid
from datetime import datetime, timedelta
from typing import Any, ClassVar

import attrs
from aiohttp import web

from voicegw.models import AudioStatus
from voicegw.testing.emulator import Emulator, RateWindow, json_body
from voicegw_huawei.aicc import (
    DEFAULT_TOKEN_LIFETIME,
    LOCALES,
    MAX_FILE_BYTES,
    MAX_NAME_LENGTH,
    MAX_TOKEN_LIFETIME,
    REVIEW_STATUSES,
    TOKEN_PATH,
    UPLOAD_PATH,
    VOICE_TYPES,
    detect_file_type,
)

__all__ = ["AiccEmulator", "EmulatedFile", "TokenGrant", "UploadSeen"]

_AICC_LOCALES = frozenset(LOCALES.values())
_VOICE_TYPES = frozenset(VOICE_TYPES.values())
_STATUS_CODE = {status: code for code, status in REVIEW_STATUSES.items()}
_FIRST_FILE_ID = 1290553711200348160  # the shape of the documented examples: 19 digits


@attrs.frozen
class TokenGrant:
    """A token the emulator issued."""

    token: str = attrs.field(repr=False)
    app_key: str
    lifetime: int
    expires_at: datetime


@attrs.define
class EmulatedFile:
    """A file the emulator holds, and where its review stands."""

    file_id: str
    app_key: str
    name: str | None
    locale: str
    voice_type: str
    file_type: str
    size: int
    native_format: bool
    callback_url: str | None
    status: AudioStatus = AudioStatus.PENDING
    comment: str | None = None


@attrs.frozen
class UploadSeen:
    """One upload request as it arrived: when (monotonic seconds) and what it got."""

    at: float
    status: int


def _is_native_wav(data: bytes) -> bool:
    """True for a WAV already in what the platform plays: A-law, mono, 8 kHz, 8 bits."""
    if detect_file_type(data) != "wav":
        return False
    offset = 12
    while offset + 8 <= len(data):
        chunk, size = (
            data[offset : offset + 4],
            int.from_bytes(data[offset + 4 : offset + 8], "little"),
        )
        if chunk == b"fmt ":
            fmt = data[offset + 8 : offset + 8 + 16]
            if len(fmt) < 16:
                return False
            tag = int.from_bytes(fmt[0:2], "little")
            channels = int.from_bytes(fmt[2:4], "little")
            rate = int.from_bytes(fmt[4:8], "little")
            bits = int.from_bytes(fmt[14:16], "little")
            return (tag, channels, rate, bits) == (6, 1, 8000, 8)
        offset += 8 + size + (size & 1)
    return False


class AiccEmulator(Emulator):
    """Huawei AICC's voice-file upload and review, on loopback."""

    plugin: ClassVar[str] = "huawei"

    def __init__(
        self,
        *,
        speed: float = 0.0,
        app_key: str = "aicc-emulator-key",
        app_secret: str = "aicc-emulator-secret",  # noqa: S107 - a fake credential
        review_delay: float = 30.0,
        review_attempts: int = 6,
        review_retry_interval: float = 0.05,
        upload_rate_limit: int = 10,
        default_token_lifetime: int = DEFAULT_TOKEN_LIFETIME,
    ) -> None:
        super().__init__(speed=speed, push_retry_interval=review_retry_interval)
        self.app_key = app_key
        self.app_secret = app_secret
        self.review_delay = review_delay
        self.review_attempts = review_attempts
        self.review_retry_interval = review_retry_interval
        self.default_token_lifetime = default_token_lifetime
        self.grants: dict[str, TokenGrant] = {}
        self.files: dict[str, EmulatedFile] = {}
        #: Every token request received (accepted or not), as the X-Token-Expire it carried.
        self.token_requests: list[str | None] = []
        #: Every upload request received, with its arrival time and answer status.
        self.uploads: list[UploadSeen] = []
        self._upload_window = RateWindow(upload_rate_limit, 1.0)
        self._ids = itertools.count(_FIRST_FILE_ID)
        self._host: Emulator = self
        self.add_routes(self.app)

    # -- wiring ------------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Register the token and upload routes on ``app`` (before it starts)."""
        app.router.add_post(TOKEN_PATH, self.handle_token)
        app.router.add_post(UPLOAD_PATH, self.handle_upload)

    def mount(self, host: Emulator) -> None:
        """Serve from ``host``'s app: its base URL, clock, tasks, push log and speed."""
        self._host = host
        self.add_routes(host.app)

    @staticmethod
    def handles(path: str) -> bool:
        """True for the paths this emulator serves (to route fault answers when mounted)."""
        return path in (TOKEN_PATH, UPLOAD_PATH)

    def aicc_settings(self, **overrides: Any) -> dict[str, Any]:
        """The ``aicc`` settings table that points at this emulator and passes its auth."""
        return {
            "base_url": self._host.base_url,
            "app_key": self.app_key,
            "app_secret": self.app_secret,
            **overrides,
        }

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        """``{"aicc": {...}}``: merge it into a Huawei provider's settings."""
        return {"aicc": self.aicc_settings(**overrides)}

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        """Review results go to ``{hook_base}/review`` (AICC learns it per upload)."""
        return {"aicc": self.aicc_settings(review_callback_url=f"{hook_base}/review")}

    def unreachable_settings(self, closed_port: int) -> dict[str, Any]:
        return {"aicc": self.aicc_settings(base_url=f"http://127.0.0.1:{closed_port}")}

    # -- queries for tests and for the Huawei emulator -----------------------------------

    def is_approved(self, file_id: str) -> bool:
        """True once the file exists and its review approved it."""
        file = self.files.get(file_id)
        return file is not None and file.status is AudioStatus.APPROVED

    def revoke_tokens(self) -> None:
        """Forget every token issued (as if they expired): the next upload gets a 401."""
        self.grants.clear()

    def busiest_second(self) -> int:
        """The most accepted uploads that arrived within any one second."""
        times = sorted(seen.at for seen in self.uploads if seen.status == 200)
        best = 0
        start = 0
        for end, at in enumerate(times):
            while at - times[start] >= 1.0:
                start += 1
            best = max(best, end - start + 1)
        return best

    # -- answers -------------------------------------------------------------------------

    @staticmethod
    def _refusal(status: int, description: str, code: str = "1") -> web.Response:
        return web.json_response({"returnCode": code, "description": description}, status=status)

    def rate_limited_response(self, request: web.Request) -> web.StreamResponse:
        """Flow control (shape UNVERIFIED): HTTP 429 with the upload envelope."""
        return self._refusal(429, "Flow control: more than 10 requests per second.")

    def error_response(self, request: web.Request, code: str) -> web.StreamResponse:
        """AICC's refusal for an :data:`~voicegw_huawei.aicc.AICC_CODES` code.

        ``HTTP 500`` (or ``token/HTTP 500``) answers that status; ``token/HTTP 5xx`` a 502;
        ``token/no-token`` a 200 without a token; any other code a 200 carrying it as
        ``returnCode``.
        """
        bare = code.removeprefix("token/")
        if bare.startswith("HTTP "):
            digits = bare[5:].strip()
            status = int(digits) if digits.isdigit() else 502
            return self._refusal(status, f"Emulated failure {code}.")
        if bare == "no-token":
            return self._refusal(200, "Emulated refusal without a token.")
        return self._refusal(200, f"Emulated failure {code}.", code=bare or "1")

    # -- token -------------------------------------------------------------------------------

    async def handle_token(self, request: web.Request) -> web.StreamResponse:
        """``tokenByAkSk``: credentials in the JSON body, lifetime in ``X-Token-Expire``."""
        expire = request.headers.get("X-Token-Expire")
        self.token_requests.append(expire)
        if expire is None:
            lifetime = self.default_token_lifetime
        elif expire.strip().isdigit() and 1 <= int(expire) <= MAX_TOKEN_LIFETIME:
            lifetime = int(expire)
        else:
            return self._refusal(400, "X-Token-Expire must be 1 to 3600 seconds.")
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            return self._refusal(400, "The request body is not JSON.")
        if not isinstance(body, dict):
            return self._refusal(400, "The request body is not a JSON object.")
        app_key, app_secret = body.get("app_key"), body.get("app_secret")
        if not isinstance(app_key, str) or not isinstance(app_secret, str):
            return self._refusal(400, "app_key and app_secret are required.")
        key_ok = hmac.compare_digest(app_key.encode(), self.app_key.encode())
        secret_ok = hmac.compare_digest(app_secret.encode(), self.app_secret.encode())
        if not (key_ok and secret_ok):
            return self._refusal(401, "Invalid app_key or app_secret.")
        now = self._host.now()
        token = str(uuid.uuid4())
        self.grants[token] = TokenGrant(token, app_key, lifetime, now + timedelta(seconds=lifetime))
        return web.json_response(
            {
                "AccessToken": token,
                "ApplyType": "Bearer",
                "CreateTime": str(int(now.timestamp())),
                "Expires": str(lifetime),
                "Scope": "",
                "AppKey": app_key,
                "UserID": "Anonymous",
            }
        )

    # -- upload ------------------------------------------------------------------------------

    async def handle_upload(self, request: web.Request) -> web.StreamResponse:
        """``importVoiceFile/upload``: flow control, Bearer, body, then store and review."""
        arrived = time.monotonic()
        response = await self._upload(request)
        self.uploads.append(UploadSeen(arrived, response.status))
        return response

    async def _upload(self, request: web.Request) -> web.StreamResponse:
        if not self._upload_window.allow():
            return self.rate_limited_response(request)
        grant = self._grant(request)
        if grant is None:
            return self._refusal(401, "The token is missing, invalid or expired.")
        app_key = request.headers.get("X-APP-Key")
        if app_key is not None and app_key != grant.app_key:
            return self._refusal(401, "X-APP-Key does not match the token.")
        try:
            body = json.loads(await request.read())
        except (ValueError, RecursionError):
            return self._refusal(500, "The request body is not JSON.")
        if not isinstance(body, dict):
            return self._refusal(500, "The request body is not a JSON object.")
        problem, data = self._check_upload(body)
        if problem is not None:
            return self._refusal(500, problem)
        file = EmulatedFile(
            file_id=str(next(self._ids)),
            app_key=grant.app_key,
            name=body.get("voiceFileName"),
            locale=body["locale"],
            voice_type=body["voiceType"],
            file_type=body["fileType"].lower(),
            size=len(data),
            native_format=_is_native_wav(data),
            callback_url=body.get("callBackUrl"),
        )
        self.files[file.file_id] = file
        self._host.spawn(self._review(file))
        return web.json_response(
            {
                "returnCode": "0",
                "description": "File uploaded successfully.",
                "fileId": file.file_id,
            }
        )

    def _grant(self, request: web.Request) -> TokenGrant | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header.count(" ") != 1:
            return None
        grant = self.grants.get(header[len("Bearer ") :])
        if grant is None or self._host.now() >= grant.expires_at:
            return None
        return grant

    @staticmethod
    def _check_upload(body: dict[str, Any]) -> tuple[str | None, bytes]:
        """The first problem with an upload body (as AICC would word it), and the file."""
        info = body.get("fileInfo")
        if not isinstance(info, str) or not info:
            return "fileInfo is invalid.", b""
        try:
            data = base64.b64decode(info, validate=True)
        except (binascii.Error, ValueError):
            return "fileInfo is not Base64.", b""
        if not data:
            return "fileInfo is empty.", b""
        if len(data) > MAX_FILE_BYTES:
            return "fileInfo exceeds the 8 MB limit.", b""
        if body.get("locale") not in _AICC_LOCALES:
            return "locale is invalid.", b""
        if body.get("voiceType") not in _VOICE_TYPES:
            return "voiceType is invalid.", b""
        file_type = body.get("fileType")
        if not isinstance(file_type, str) or file_type.lower() not in {"wav", "mp3"}:
            return "fileType is invalid.", b""
        if detect_file_type(data) != file_type.lower():
            return f"fileInfo is not a {file_type.lower()} file.", b""
        callback = body.get("callBackUrl")
        if callback is not None and (
            not isinstance(callback, str) or not callback.startswith(("http://", "https://"))
        ):
            return "callBackUrl is invalid.", b""
        name = body.get("voiceFileName")
        if name is not None and (
            not isinstance(name, str)
            or not 1 <= len(name) <= MAX_NAME_LENGTH
            or not all((ch.isascii() and ch.isalnum()) or "\u4e00" <= ch <= "\u9fff" for ch in name)
        ):
            return "voiceFileName is invalid.", b""
        return None, data

    # -- review ------------------------------------------------------------------------------

    @staticmethod
    def decide(file: EmulatedFile) -> tuple[AudioStatus, str]:
        """The deterministic review: "reject" in the name rejects, anything else passes."""
        if file.name and "reject" in file.name.lower():
            return AudioStatus.REJECTED, "Rejected: the file name asks for it (emulator rule)."
        return AudioStatus.APPROVED, "Approved"

    async def _review(self, file: EmulatedFile) -> None:
        await self._host.sleep_simulated(self.review_delay)
        file.status, file.comment = self.decide(file)
        if not file.callback_url:
            return
        payload = {
            "fileUrl": f"/voice/ivr/{file.file_id}.{file.file_type}",
            "fileId": file.file_id,
            "status": _STATUS_CODE[file.status],
            "comment": file.comment,
        }
        await self._host.push(
            file.callback_url,
            json_body(payload),
            headers={"Content-Type": "application/json"},
            retries=max(0, self.review_attempts - 1),
            interval=self.review_retry_interval,
            ok=_acknowledged,
        )


def _acknowledged(status: int, body: bytes) -> bool:
    """AICC counts a review as delivered only on ``{"returnCode": "0"}``."""
    if status != 200:
        return False
    try:
        reply = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(reply, dict) and reply.get("returnCode") == "0"
