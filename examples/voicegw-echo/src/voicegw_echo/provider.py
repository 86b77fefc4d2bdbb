"""The echo provider: validate → build wire request → sign → send → parse → map.

::

    async with VoiceGateway.from_config({"providers": {"echo": {
        "plugin": "echo", "account_id": "AC1234", "api_secret": "…"}}}) as gateway:
        receipt = await gateway.send(VoiceNotification("+447700900123", [Speech("Hi", "en")]))
        record = await gateway.get_record(receipt)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlsplit

import aiohttp
from voicegw.errors import AuthenticationError, InvalidRequest
from voicegw.http import HttpResponse, error_for_status, parse_retry_after
from voicegw.models import CallEvent, CallRecord, SendReceipt, VoiceNotification, utcnow
from voicegw.provider import Capability, HttpProvider

from voicegw_echo.auth import PUSH_SIGNATURE_HEADER, push_signature_valid, sign_request
from voicegw_echo.codes import API_CODES, REQUEST_EXPIRED
from voicegw_echo.settings import PLUGIN, EchoSettings
from voicegw_echo.wire import (
    WireRequest,
    build_call,
    call_id_from,
    call_path,
    decode,
    encode_body,
    events_from_push,
    record_from_wire,
    refusal_from,
)

__all__ = ["CAPABILITIES", "EchoProvider"]

logger = logging.getLogger("voicegw.echo")

#: What the provider can do; the conformance kit tests each of these.
CAPABILITIES = frozenset(
    {
        Capability.SPEECH,
        Capability.VERIFICATION_CODE,
        Capability.COLLECT_DIGITS,
        Capability.HANGUP,
        Capability.RECORD_QUERY,
        Capability.RECORD_PUSH,
    }
)


class EchoProvider(HttpProvider):
    """The echo voice API.

    ``clock`` (POSIX seconds) stamps each request's signature; tests pass a fixed one.
    """

    plugin_name = PLUGIN
    capabilities = CAPABILITIES
    webhook_kinds = frozenset({"record"})

    def __init__(
        self,
        name: str,
        settings: EchoSettings,
        *,
        clock: Callable[[], float] = time.time,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        super().__init__(name, settings, session=session)
        self.echo = settings
        self._clock = clock

    # -- the pipeline ----------------------------------------------------------------------

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        """Place one call (``POST /v1/calls``)."""
        request = self.local(build_call, notification, self.echo)
        response = await self._exchange(request)
        accepted = call_id_from(response.body)
        if accepted is None:
            raise self.http.garbled(response, "accepted without a call id")
        call_id, call = accepted
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=utcnow(),
            reference=notification.reference,
            raw=call,
        )

    async def get_record(self, call_id: str) -> CallRecord:
        """The API's record of one call (``GET /v1/calls/{id}``)."""
        path = self.local(call_path, call_id)
        response = await self._exchange(WireRequest("GET", path))
        try:
            return record_from_wire(decode(response.body), provider=self.name)
        except InvalidRequest as exc:
            raise self.http.garbled(response, exc.message) from None

    async def hangup(self, call_id: str) -> None:
        """End a call in progress (``POST /v1/calls/{id}/hangup``)."""
        path = self.local(call_path, call_id, "hangup")
        await self._exchange(WireRequest("POST", path))

    def verify_webhook(self, kind: str, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """Check a push's signature, without parsing it.

        ``url`` must be the URL the API pushed to (the ``callback_url`` setting): the
        signature covers it, so a push replayed to another address is refused. Verifying
        apart from reading lets the receiver store a push before it is parsed.
        """
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes (only 'record')")
        given = _header(headers, PUSH_SIGNATURE_HEADER)
        if not push_signature_valid(self.echo.api_secret, url, body, given):
            raise AuthenticationError(
                "push signature does not match", provider=self.name, plugin=self.plugin
            )

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]:
        """Turn a verified push's call object into an event."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes (only 'record')")
        events: list[CallEvent] = self.local(events_from_push, body, provider=self.name)
        return events

    # -- steps -----------------------------------------------------------------------------

    def _headers(self, request: WireRequest, body: bytes) -> dict[str, str]:
        """Fresh authentication headers: a new timestamp and signature for every attempt."""
        path = urlsplit(self.http.url(request.path)).path
        headers = sign_request(
            self.echo.account_id,
            self.echo.api_secret,
            request.method,
            path,
            body,
            now=self._clock(),
        )
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        return headers

    async def _exchange(self, request: WireRequest) -> HttpResponse:
        """Sign and send; raise the code table's error for a refusal.

        ``request_expired`` means the API refused before doing anything: re-sign with a fresh
        timestamp and try once more.
        """
        body = encode_body(request.body)
        for attempt in (1, 2):
            response = await self.http.request(
                request.method,
                request.path,
                headers=self._headers(request, body),
                json_body=request.body,
            )
            if 200 <= response.status < 300:
                return response
            refusal = refusal_from(response.body)
            if refusal is None:
                raise error_for_status(response, provider=self.name, plugin=self.plugin)
            code, message = refusal
            if code == REQUEST_EXPIRED and attempt == 1:
                logger.info("%s %s: request expired, re-signing once", request.method, request.path)
                continue
            logger.info("%s %s refused: %s", request.method, request.path, code)
            raise API_CODES.error(
                code,
                message,
                provider=self.name,
                retry_after=parse_retry_after(response.headers.get("Retry-After")),
            )
        raise AssertionError("unreachable")  # pragma: no cover


def _header(headers: Mapping[str, str], name: str) -> str:
    """A header's value, whatever its case; empty when it is missing."""
    lowered = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == lowered and isinstance(value, str):
            return value
    return ""
