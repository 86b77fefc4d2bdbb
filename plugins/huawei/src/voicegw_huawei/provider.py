"""The Huawei Voice Call provider: notifications, verification codes, click-to-call, pushes.

Every request runs the same pipeline: *validate → build the wire body → sign → send → parse
the envelope → map*. The envelope's ``resultcode`` decides (never the HTTP status alone);
codes become exceptions through :data:`voicegw_huawei.codes.API_CODES`. A ``1010013`` (the
``Created`` time was outside the platform's window) is re-signed and sent once more.

Huawei cannot be asked for a call's record: records arrive by push (``status`` and
``record`` kinds) and the gateway keeps them in its store.
"""

from __future__ import annotations

import collections
import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import aiohttp

from voicegw.errors import (
    AuthenticationError,
    NotFound,
    ValidationError,
    VoiceError,
)
from voicegw.http import HttpResponse, error_for_status, parse_retry_after
from voicegw.models import (
    AudioFile,
    AudioUpload,
    CallEvent,
    CallRecord,
    ClickToCall,
    RecordingRef,
    SendReceipt,
    VoiceNotification,
    utcnow,
)
from voicegw.provider import Capability, HttpProvider, WebhookReply
from voicegw_huawei import auth, wire
from voicegw_huawei.aicc import REVIEW_ACK, REVIEW_NACK, AiccClient, parse_review
from voicegw_huawei.codes import API_CODES, REQUEST_EXPIRED, SUCCESS
from voicegw_huawei.pushes import RECORDING_VALIDITY, parse_fee_push, parse_status_push
from voicegw_huawei.settings import HuaweiSettings, ProductApp

__all__ = ["HuaweiProvider", "capabilities_for"]

logger = logging.getLogger("voicegw.huawei")

PLUGIN = "huawei"

#: What the provider can always do; speech, verification codes and audio upload depend on
#: the settings (see :func:`capabilities_for`).
BASE_CAPABILITIES = frozenset(
    {
        Capability.TEMPLATE,
        Capability.AUDIO,
        Capability.COLLECT_DIGITS,
        Capability.HANGUP,
        Capability.CLICK_TO_CALL,
        Capability.STATUS_PUSH,
        Capability.RECORD_PUSH,
    }
)
#: Everything the plugin can do with the right settings.
ALL_CAPABILITIES = BASE_CAPABILITIES | {
    Capability.SPEECH,
    Capability.VERIFICATION_CODE,
    Capability.AUDIO_UPLOAD,
}

_ACK = json.dumps({"resultcode": "0", "resultdesc": "Success"}).encode()
#: How many recent calls remember which app placed them (for callStop).
_REMEMBERED_CALLS = 10_000


def capabilities_for(settings: HuaweiSettings) -> frozenset[Capability]:
    """What a provider with ``settings`` can do.

    ``speech`` needs a ``speech_template``; ``verification_code`` a ``verify_pre_tone`` (the
    platform requires a pre tone); ``audio_upload`` the ``aicc`` table. Records are never
    queryable: no ``record_query``.
    """
    capabilities = set(BASE_CAPABILITIES)
    if settings.speech_template is not None:
        capabilities.add(Capability.SPEECH)
    if settings.verify_pre_tone is not None:
        capabilities.add(Capability.VERIFICATION_CODE)
    if settings.aicc is not None:
        capabilities.add(Capability.AUDIO_UPLOAD)
    return frozenset(capabilities)


def _push_variants(mode: str) -> tuple[str, ...]:
    if mode == "any":
        return auth.PUSH_VARIANTS
    return (mode,)


class HuaweiProvider(HttpProvider):
    """Huawei Cloud Voice Call behind the voicegw provider contract.

    ``clock`` and ``nonce`` exist for tests (exact wire assertions); leave them alone.
    """

    plugin_name = PLUGIN
    #: ``review`` is AICC's review result of an uploaded file (needs the ``aicc`` settings).
    webhook_kinds = frozenset({"status", "record", "review"})

    def __init__(
        self,
        name: str,
        settings: HuaweiSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
        nonce: Callable[[], str] = auth.new_nonce,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, settings, session=session)
        self.huawei = settings
        self.capabilities = capabilities_for(settings)
        self._clock = clock
        self._nonce = nonce
        self._call_apps: collections.OrderedDict[str, ProductApp] = collections.OrderedDict()
        self.aicc = AiccClient(name, PLUGIN, settings.aicc) if settings.aicc is not None else None
        if self.aicc is None:  # no AICC settings: no review callbacks to receive
            self.webhook_kinds = frozenset({"status", "record"})
        if settings.push_signature == "off":
            logger.warning(
                "provider %r: push verification is off (push_signature = 'off'); anyone who "
                "can reach the webhook receiver can forge Huawei status and CDR pushes",
                name,
            )

    # -- sending -----------------------------------------------------------------------------

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        """Place a voice notification (``callnotify``) or a verification code (``callVerify``)."""
        if wire.is_verification(notification):
            app = self.huawei.app_for("verification")
            body = self.local(lambda: wire.verify_body(notification, self.huawei, app))
            path = wire.VERIFY_PATH
        else:
            app = self.huawei.app_for("notification")
            body = self.local(lambda: wire.notify_body(notification, self.huawei, app))
            path = wire.NOTIFY_PATH
        data = await self._post(path, body, app, session=True)
        return self._receipt(data, app, notification.reference)

    async def connect(self, request: ClickToCall) -> SendReceipt:
        """Place a click-to-call (``click2Call``): ring ``caller``, then bridge to ``callee``."""
        app = self.huawei.app_for("click_to_call")
        body = self.local(lambda: wire.click2call_body(request, self.huawei, app))
        data = await self._post(wire.CALLBACK_PATH, body, app, session=True)
        return self._receipt(data, app, request.reference)

    async def hangup(self, call_id: str) -> None:
        """Stop a call in progress (``callStop``), signed by the app that placed it."""
        body = self.local(lambda: wire.stop_body(call_id))
        app = self._call_apps.get(call_id) or self.huawei.main_app()
        await self._post(wire.STOP_PATH, body, app, session=False)

    async def recording_url(
        self, file_name: str, record_domain: str, *, product: str = "click_to_call"
    ) -> RecordingRef:
        """The download address of a recording (``GET …/record/v1.0``, answered with a 301).

        ``file_name`` and ``record_domain`` are the CDR's ``recordObjectName`` and
        ``recordDomain``. The address is valid for 7 days.
        """
        for field, value in (("file_name", file_name), ("record_domain", record_domain)):
            if not isinstance(value, str) or not 1 <= len(value) <= 128:
                raise self._context(ValidationError(f"{field} must be 1 to 128 characters"))
        try:
            app = self.huawei.app_for(product)
        except VoiceError as error:
            raise self._context(error) from None
        now = self._clock()
        response = await self.http.request(
            "GET",
            self._url(app, wire.RECORD_PATH),
            headers=self._sign(app, now),
            params={"fileName": file_name, "recordDomain": record_domain},
            allow_redirects=False,
        )
        location = response.headers.get("Location")
        if response.status in (301, 302, 303, 307, 308) and location:
            return RecordingRef(
                url=location, file_id=file_name, expires_at=now + RECORDING_VALIDITY
            )
        self._envelope(response, session=False)
        raise self.http.garbled(response, "no Location header for the recording")

    async def fetch_recording(self, record: CallRecord) -> RecordingRef:
        """The recording of a call, from its record (as a CDR push delivered it).

        Asks the platform for a fresh address when the CDR names ``recordDomain``; otherwise
        the CDR's own ``recordFileDownloadUrl`` is the address.
        """
        raw = record.raw
        name = raw.get("recordObjectName")
        domain = raw.get("recordDomain")
        if isinstance(name, str) and name and isinstance(domain, str) and domain:
            return await self.recording_url(name, domain)
        if record.recording is not None and record.recording.url:
            return record.recording
        raise self._context(NotFound(f"call {record.call_id!r} has no recording"))

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        """Upload a voice file to Huawei AICC for review (needs the ``aicc`` settings).

        The file comes back ``pending``; the review result arrives as a ``review`` push.
        """
        if self.aicc is None:
            raise self.unsupported("upload audio without the aicc settings (Huawei AICC)")
        return await self.aicc.upload(upload)

    # -- the pipeline's steps --------------------------------------------------------------

    def _context(self, error: VoiceError) -> VoiceError:
        return error.with_context(provider=self.name, plugin=self.plugin)

    def _url(self, app: ProductApp, path: str) -> str:
        return (app.base_url or self.huawei.base_url).rstrip("/") + path

    def _sign(self, app: ProductApp, now: datetime) -> dict[str, str]:
        return auth.sign_headers(
            app.app_key,
            app.app_secret,
            now=now,
            nonce=self._nonce(),
            beijing=self.huawei.created_clock == "beijing",
        )

    async def _post(
        self, path: str, body: Mapping[str, Any], app: ProductApp, *, session: bool
    ) -> Mapping[str, Any]:
        """Sign and send ``body``; the envelope on success. One re-signed retry on 1010013."""
        response = await self._send_signed(path, body, app)
        try:
            return self._envelope(response, session=session)
        except VoiceError as error:
            if error.code != REQUEST_EXPIRED:
                raise
        logger.info("%s: Created outside the platform's window (1010013); re-signing", self.name)
        response = await self._send_signed(path, body, app)
        return self._envelope(response, session=session)

    async def _send_signed(
        self, path: str, body: Mapping[str, Any], app: ProductApp
    ) -> HttpResponse:
        """One request, signed afresh (new nonce, new ``Created``)."""
        return await self.http.request(
            "POST", self._url(app, path), headers=self._sign(app, self._clock()), json_body=body
        )

    def _envelope(self, response: HttpResponse, *, session: bool) -> Mapping[str, Any]:
        """The ``resultcode`` envelope of a success, or the error it (or the HTTP status) means."""
        ok = 200 <= response.status < 300
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or not isinstance(data.get("resultcode"), str | int):
            if ok:
                raise self.http.garbled(response, "no resultcode")
            raise error_for_status(response, provider=self.name, plugin=self.plugin)
        code = str(data["resultcode"]).strip()
        if code == SUCCESS:
            if not ok:
                raise error_for_status(response, provider=self.name, plugin=self.plugin)
            session_id = data.get("sessionId")
            if session and (not isinstance(session_id, str) or not session_id.strip()):
                raise self.http.garbled(response, "success without a sessionId")
            return data
        description = data.get("resultdesc")
        raise API_CODES.error(
            code,
            description if isinstance(description, str) else None,
            provider=self.name,
            retry_after=parse_retry_after(response.headers.get("Retry-After")),
        )

    def _receipt(
        self, data: Mapping[str, Any], app: ProductApp, reference: str | None
    ) -> SendReceipt:
        call_id = str(data["sessionId"])
        self._call_apps[call_id] = app
        while len(self._call_apps) > _REMEMBERED_CALLS:
            self._call_apps.popitem(last=False)
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=self._clock(),
            reference=reference,
            raw=data,
        )

    # -- pushes ------------------------------------------------------------------------------

    def verify_push(self, headers: Mapping[str, str], url: str) -> str | None:
        """Check a push's signature against ``url``; the variant that matched.

        Returns None when verification is off; raises ``AuthenticationError`` when no app
        secret (nor any of ``push_secrets``) signs it in an allowed variant.
        """
        mode = self.huawei.push_signature
        if mode == "off":
            return None
        candidates = [app.app_secret for app in self.huawei.all_apps()]
        candidates.extend(self.huawei.push_secrets)
        variant = auth.verify_push(headers, url, candidates, variants=_push_variants(mode))
        if variant is None:
            raise self._context(
                AuthenticationError("push signature does not verify (X-AKSK) for this URL")
            )
        logger.debug("%s: push verified (%s variant)", self.name, variant)
        return variant

    def verify_webhook(self, kind: str, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """``status`` and ``record`` (the CDR push) are signed by the Voice Call platform;
        ``review`` is AICC's review result, which is not signed (see the AICC docs page)."""
        self._push_kind(kind)
        if kind != "review":
            self.verify_push(headers, url)

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]:
        """A verified push → events: status changes, CDRs as records, AICC review results."""
        self._push_kind(kind)
        if kind == "review":
            return parse_review(body, self.name)
        try:
            if kind == "status":
                return parse_status_push(body, provider=self.name)
            return parse_fee_push(body, provider=self.name)
        except VoiceError as error:
            raise self._context(error) from None

    def _push_kind(self, kind: str) -> None:
        if kind == "review" and self.aicc is None:
            raise self.unsupported("receive AICC review pushes without the aicc settings")
        if kind not in self.webhook_kinds:
            raise self.unsupported(f"send {kind!r} pushes")

    def webhook_reply(self, kind: str, *, accepted: bool) -> WebhookReply:
        """HTTP 200 with Huawei's success envelope; anything else makes it re-push CDRs.

        AICC review pushes get ``{"returnCode":"0"}`` (or a 503 with another code).
        """
        if kind == "review":
            return REVIEW_ACK if accepted else REVIEW_NACK
        if accepted:
            return WebhookReply(200, _ACK, "application/json")
        return WebhookReply(503, b"not stored, please retry")

    async def aclose(self) -> None:
        await super().aclose()
        if self.aicc is not None:
            await self.aicc.aclose()
