"""The ITNIO Tech provider: validate → build wire request → sign → send → parse → map.

::

    async with VoiceGateway.from_config({"providers": {"itn": {
        "plugin": "itniotech", "api_key": "…", "api_secret": "…", "app_id": "…"}}}) as gw:
        receipt = await gw.send(VoiceNotification("+84912345678", [Speech("Xin chào", "vi")]))
        record = await gw.get_record(receipt)

Speech and verification codes go to ``POST /voice/sendCode``, one uploaded audio file to
``POST /voice/sendGroup``; records come from ``GET /voice/recordGroup/{voiceId}``, from
``POST /voice/recordGroupQuery`` and from the platform's record push.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp

from voicegw.errors import AuthenticationError, InvalidRequest, NotFound, VoiceError
from voicegw.http import HttpResponse, error_for_status
from voicegw.models import (
    AudioFile,
    AudioStatus,
    AudioUpload,
    CallEvent,
    CallRecord,
    EventKind,
    SendReceipt,
    VoiceNotification,
    utcnow,
)
from voicegw.provider import Capability, HttpProvider, WebhookReply
from voicegw_itniotech.auth import sign_headers
from voicegw_itniotech.codes import API_CODES, TIMESTAMP_EXPIRED
from voicegw_itniotech.settings import PLUGIN, ItniotechSettings
from voicegw_itniotech.wire import (
    MAX_ID_LENGTH,
    Envelope,
    WireRequest,
    build_file_upload,
    build_record_query,
    build_send,
    envelope_from,
    loads,
    page_from_wire,
    plain,
    query_windows,
    record_from_wire,
    record_path,
    records_from_push,
)

__all__ = ["CAPABILITIES", "PUSH_QUERY_PARAMETER", "ItniotechProvider"]

logger = logging.getLogger("voicegw.itniotech")

CAPABILITIES = frozenset(
    {
        Capability.SPEECH,
        Capability.AUDIO,
        Capability.VERIFICATION_CODE,
        Capability.RECORD_QUERY,
        Capability.RECORD_SEARCH,
        Capability.RECORD_PUSH,
        Capability.AUDIO_UPLOAD,
    }
)

#: The query parameter of the push URL that carries ``push_token``.
PUSH_QUERY_PARAMETER = "token"
#: Safety stop for a platform that keeps announcing more pages.
_MAX_PAGES = 10_000

_ACCEPTED = WebhookReply(200, b'{"status":"0","reason":"success"}', "application/json")
_NOT_STORED = WebhookReply(
    503, b'{"status":"-18","reason":"not stored, please retry"}', "application/json"
)


class ItniotechProvider(HttpProvider):
    """ITNIO Tech's voice API (``https://api.itniotech.com``).

    ``clock`` (POSIX seconds) stamps each request's ``Timestamp``; tests pass a fixed one.
    """

    plugin_name = PLUGIN
    capabilities = CAPABILITIES
    webhook_kinds = frozenset({"record"})

    def __init__(
        self,
        name: str,
        settings: ItniotechSettings,
        *,
        clock: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, settings, session=session)
        self.itnio = settings
        self._clock = clock

    # -- the pipeline ----------------------------------------------------------------------

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        """Place one call: ``sendCode`` for speech, ``sendGroup`` for one audio file."""
        request = self.local(build_send, notification, self.itnio)
        envelope, response = await self._exchange(request)
        call_id = self._call_id(request, envelope, response)
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=utcnow(),
            reference=notification.reference,
            raw=_raw(envelope.body),
        )

    async def get_record(self, call_id: str) -> CallRecord:
        """The platform's record of one call (``GET /voice/recordGroup/{voiceId}``)."""
        path = self.local(record_path, call_id)
        envelope, response = await self._exchange(WireRequest("GET", path))
        if envelope.data in (None, "", {}):
            raise NotFound(
                f"no record of voiceId {call_id!r} (unknown, or older than two months)",
                provider=self.name,
                plugin=self.plugin,
                code=envelope.status,
            )
        try:
            return record_from_wire(envelope.data, provider=self.name)
        except InvalidRequest as exc:
            raise self.http.garbled(response, exc.message) from None

    async def iter_records(self, start: datetime, end: datetime) -> AsyncIterator[CallRecord]:
        """Records submitted in ``[start, end)`` via ``recordGroupQuery``, page by page.

        Ranges longer than 31 days are queried in 31-day windows; a record seen twice (at a
        window's edge) is yielded once. The platform keeps two months of records.
        """
        windows = self.local(query_windows, start, end)
        seen: set[str] = set()
        for low, high in windows:
            current = 1
            while current <= _MAX_PAGES:
                request = build_record_query(low, high, current=current)
                envelope, response = await self._exchange(request)
                try:
                    page = page_from_wire(envelope.data)
                    records = [record_from_wire(r, provider=self.name) for r in page.records]
                except (ValueError, InvalidRequest) as exc:
                    raise self.http.garbled(response, f"not a record page: {exc}") from None
                for record in records:
                    if record.call_id not in seen:
                        seen.add(record.call_id)
                        yield record
                if not page.records or current >= page.pages:
                    break
                current += 1

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        """Upload audio for :class:`~voicegw.models.Audio` prompts (``fileUpload``).

        ITNIO documents no review of uploaded audio, so the file is usable at once (approved).
        """
        request = self.local(build_file_upload, upload, max_bytes=self.itnio.max_upload_bytes)
        envelope, response = await self._exchange(request)
        file_id = _opaque_id(envelope.data)
        if file_id is None:
            raise self.http.garbled(response, "success without a file id")
        return AudioFile(file_id=file_id, provider=self.name, status=AudioStatus.APPROVED)

    def verify_webhook(self, kind: str, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """ITNIO signs nothing: a push is trusted because its URL carries ``push_token``
        (compared in constant time). Without a configured token every push is accepted."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes (only 'record')")
        self._verify_push_url(url)

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]:
        """A voice report push (one record object, or an array) → ``record`` events."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes (only 'record')")
        try:
            records = records_from_push(body, provider=self.name)
        except VoiceError as exc:
            exc.with_context(provider=self.name, plugin=self.plugin)
            raise
        return [
            CallEvent(
                kind=EventKind.RECORD,
                call_id=record.call_id,
                provider=self.name,
                at=record.ended_at
                or record.answered_at
                or record.ringing_at
                or record.started_at
                or record.submitted_at,
                record=record,
                reference=record.reference,
                raw=record.raw,
            )
            for record in records
        ]

    def webhook_reply(self, kind: str, *, accepted: bool) -> WebhookReply:
        """200 with a small JSON body when stored; 503 otherwise, so the platform re-pushes."""
        return _ACCEPTED if accepted else _NOT_STORED

    # -- steps -----------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        """Fresh headers: a new timestamp and signature for every request, never reused."""
        return sign_headers(self.itnio.api_key, self.itnio.api_secret, now=self._clock())

    async def _exchange(self, request: WireRequest) -> tuple[Envelope, HttpResponse]:
        """Sign, send, read the envelope; raise the code table's error for a refusal.

        ``-16`` (timestamp expired) means the platform refused before doing anything: re-sign
        with a fresh timestamp and try once more.
        """
        for attempt in (1, 2):
            response = await self.http.request(
                request.method, request.path, headers=self._headers(), json_body=request.body
            )
            envelope = self._envelope(response)
            if envelope.ok:
                return envelope, response
            if envelope.status == TIMESTAMP_EXPIRED and attempt == 1:
                logger.info("%s %s: timestamp expired, re-signing", request.method, _p(request))
                continue
            logger.info("%s %s refused: status %s", request.method, _p(request), envelope.status)
            raise API_CODES.error(envelope.status, envelope.reason, provider=self.name)
        raise AssertionError("unreachable")  # pragma: no cover

    def _envelope(self, response: HttpResponse) -> Envelope:
        """The envelope of an answer; garbled 2xx → OutcomeUnknown, bare HTTP errors → status."""
        try:
            envelope = envelope_from(loads(response.body))
        except ValueError:
            envelope = None
        if 200 <= response.status < 300:
            if envelope is None:
                raise self.http.garbled(response, "not an ITNIO status envelope")
            return envelope
        if envelope is not None and not envelope.ok:
            return envelope  # the platform's own refusal, whatever the HTTP status
        raise error_for_status(response, provider=self.name, plugin=self.plugin)

    def _call_id(self, request: WireRequest, envelope: Envelope, response: HttpResponse) -> str:
        """The ``voiceId`` of an accepted send: ``data`` itself (sendCode), or this number's
        element of the ``data`` array (sendGroup)."""
        if request.path.endswith("/sendCode"):
            call_id = _opaque_id(envelope.data)
            if call_id is None:
                raise self.http.garbled(response, "success without a voiceId")
            return call_id
        items = envelope.data if isinstance(envelope.data, list) else []
        callee = (request.body or {}).get("callee")
        mine = [i for i in items if isinstance(i, dict) and str(i.get("callee", "")) == callee]
        item = mine[0] if mine else (items[0] if len(items) == 1 else None)
        if not isinstance(item, dict):
            raise self.http.garbled(response, "success without this number's voiceId")
        code = str(item.get("terminationCode", "0")).strip() or "0"
        if code != "0":
            reason = item.get("terminationReason")
            raise InvalidRequest(
                "sendGroup refused the number"
                + (f": {reason}" if isinstance(reason, str) and reason else ""),
                provider=self.name,
                plugin=self.plugin,
                code=code[:32],
            )
        call_id = _opaque_id(item.get("voiceId"))
        if call_id is None:
            raise self.http.garbled(response, "success without this number's voiceId")
        return call_id

    def _verify_push_url(self, url: str) -> None:
        token = self.itnio.push_token
        if token is None:
            # Nothing to check against: every push is accepted (documented risk).
            return
        expected = token.encode()
        try:
            query = urlsplit(url).query if isinstance(url, str) else ""
            offered = [
                v for k, v in parse_qsl(query, keep_blank_values=True) if k == PUSH_QUERY_PARAMETER
            ]
        except ValueError:
            offered = []
        # Compare every offered value in constant time; no early exit on the first match.
        matches = [hmac.compare_digest(value.encode(), expected) for value in offered]
        if not any(matches):
            raise AuthenticationError(
                "push refused: its URL does not carry the configured push_token",
                provider=self.name,
                plugin=self.plugin,
            )


def _opaque_id(value: Any) -> str | None:
    """An id from ``data``: a non-empty string (or a whole number) of at most 64 characters."""
    if type(value) is str:  # the usual answer: what the steps below make of a str
        value = value.strip()
        return value if value and len(value) <= MAX_ID_LENGTH else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        value = str(value)
    if isinstance(value, Decimal) and value == value.to_integral_value() and value >= 0:
        value = str(int(value))
    if not isinstance(value, str) or not value.strip() or len(value.strip()) > MAX_ID_LENGTH:
        return None
    return value.strip()


def _raw(body: Mapping[str, Any]) -> dict[str, Any]:
    result = plain(body if type(body) is dict else dict(body))  # plain copies a dict
    assert isinstance(result, dict)
    return result


def _p(request: WireRequest) -> str:
    """The path for log lines, without the ids that follow it."""
    return request.path if not request.path.startswith("/voice/recordGroup/") else "recordGroup"
