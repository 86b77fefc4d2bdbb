"""The sandbox: an in-process provider for your own tests and the default configuration.

It places no real calls. Outcomes follow the scenario table
(:mod:`voicegw.testing.scenarios`): a callee ending in ``017`` is busy, ``019`` does not answer,
and so on; any other number answers and presses ``1``. Records and events come out through
the same models and paths as a real provider's.

On its own the sandbox opens no sockets and every call ends at once. Attach a
:class:`SandboxEmulator` (``settings: emulator = <its key>``) to rehearse what real providers
do: the emulator's fault switches, clock skew, a token to authenticate with, calls that take
(scaled) time, a ledger of placed calls, and signed record pushes to your receiver::

    async with SandboxEmulator(speed=0.01) as emulator:
        gateway = VoiceGateway.from_config(
            {"providers": {"sandbox": emulator.provider_settings()}}
        )
        emulator.inject("provider_error", code="funds")   # next send: InsufficientFunds

Without an emulator, queue an error for the next request with :meth:`SandboxProvider.fail_next`.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any, ClassVar

import attrs

from voicegw.causes import from_q850
from voicegw.codes import CodeEntry, CodeTable
from voicegw.errors import (
    AuthenticationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    TransportError,
    ValidationError,
    VoiceError,
)
from voicegw.hookspecs import hookimpl
from voicegw.http import HttpResponse, error_for_status
from voicegw.models import (
    AudioFile,
    AudioStatus,
    AudioUpload,
    CallEvent,
    CallRecord,
    CallStatus,
    ClickToCall,
    EventKind,
    HangupCategory,
    HangupCause,
    Money,
    SendReceipt,
    Speech,
    VoiceNotification,
    utcnow,
)
from voicegw.plugins import PluginRegistry
from voicegw.provider import BaseProvider, Capability, ProviderPlugin, ProviderSettings
from voicegw.serialization import converter
from voicegw.testing.emulator import Emulator, FaultKind
from voicegw.testing.scenarios import scenario_for

__all__ = ["SANDBOX_CODES", "SandboxEmulator", "SandboxProvider", "SandboxSettings"]

PLUGIN = "sandbox"
MAX_TEXT = 1000
#: Clock difference beyond which an attached emulator refuses requests as expired.
SKEW_WINDOW = 300.0
SIGNATURE_HEADER = "X-Sandbox-Signature"

#: Refusals an attached :class:`SandboxEmulator` can be told to answer with.
SANDBOX_CODES = CodeTable(
    PLUGIN,
    [
        CodeEntry("ok", None, "success"),
        CodeEntry("auth", AuthenticationError, "token does not match"),
        CodeEntry("forbidden", PermissionDenied, "not allowed for this account"),
        CodeEntry("funds", InsufficientFunds, "balance too low"),
        CodeEntry("expired", RequestExpired, "request timestamp outside the window"),
        CodeEntry("invalid", InvalidRequest, "a parameter was refused"),
        CodeEntry("rate", RateLimited, "too many requests"),
        CodeEntry("notfound", NotFound, "no such call"),
        CodeEntry("unavailable", ProviderUnavailable, "sandbox failure"),
    ],
)


_PRICE_RULE = 'price_per_minute must be a decimal amount ≥ 0 such as "0.01"'


def _price(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValidationError(_PRICE_RULE)
    if isinstance(value, float):
        value = str(value)
    try:
        price = Decimal(value)
    except (ArithmeticError, TypeError, ValueError):
        raise ValidationError(_PRICE_RULE) from None
    if not price.is_finite() or price < 0:
        raise ValidationError(_PRICE_RULE)
    return price


def _currency(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError("currency must be a three-letter ISO 4217 code such as 'USD'")


@attrs.frozen(kw_only=True)
class SandboxSettings(ProviderSettings):
    """Settings of the sandbox.

    ``price_per_minute`` is charged per started minute. ``emulator`` attaches a running
    :class:`SandboxEmulator` by its key; ``token`` must then match the emulator's.
    """

    plugin: str = PLUGIN
    base_url: str = "sandbox:"
    currency: str = attrs.field(default="USD", validator=_currency)
    price_per_minute: Decimal = attrs.field(default=Decimal("0.01"), converter=_price)
    emulator: str | None = None
    token: str | None = attrs.field(default=None, repr=False)


class SandboxEmulator(Emulator):
    """Faults, clock skew, timing, a ledger and pushes for sandbox providers in this process.

    It also serves the emulator control API over HTTP, so ``voicegw emulate sandbox`` works.
    """

    plugin: ClassVar[str] = PLUGIN
    _running: ClassVar[dict[str, SandboxEmulator]] = {}

    def __init__(self, *, speed: float = 0.0, token: str | None = None, **options: Any) -> None:
        super().__init__(speed=speed, **options)
        self.key = f"sandbox-{secrets.token_hex(6)}"
        self.token = token or secrets.token_urlsafe(18)
        self.hook_base: str | None = None

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        base = await super().start(host, port)
        SandboxEmulator._running[self.key] = self
        return base

    async def close(self) -> None:
        SandboxEmulator._running.pop(self.key, None)
        await super().close()

    @classmethod
    def find(cls, key: str) -> SandboxEmulator | None:
        """The running emulator with ``key``, if any."""
        return cls._running.get(key)

    def provider_settings(self, **overrides: Any) -> dict[str, Any]:
        return {"plugin": PLUGIN, "emulator": self.key, "token": self.token, **overrides}

    def push_settings(self, hook_base: str) -> dict[str, Any]:
        self.hook_base = hook_base.rstrip("/")
        return {}

    def unreachable_settings(self, closed_port: int) -> dict[str, Any]:
        return {"emulator": f"sandbox-not-running-{closed_port}"}


def sign_push(token: str, url: str, body: bytes) -> str:
    """The sandbox push signature: hex HMAC-SHA256 over the URL, a newline and the body."""
    return hmac.new(token.encode(), url.encode() + b"\n" + body, hashlib.sha256).hexdigest()


class SandboxProvider(BaseProvider):
    """A provider that decides every call from the scenario table, in memory."""

    plugin_name = PLUGIN
    capabilities = frozenset(
        {
            Capability.SPEECH,
            Capability.TEMPLATE,
            Capability.AUDIO,
            Capability.VERIFICATION_CODE,
            Capability.COLLECT_DIGITS,
            Capability.HANGUP,
            Capability.CLICK_TO_CALL,
            Capability.RECORD_QUERY,
            Capability.RECORD_SEARCH,
            Capability.RECORD_PUSH,
            Capability.AUDIO_UPLOAD,
        }
    )
    webhook_kinds = frozenset({"record"})

    def __init__(self, name: str, settings: SandboxSettings) -> None:
        super().__init__(name, settings)
        self.sandbox_settings = settings
        self.records: dict[str, CallRecord] = {}
        self.events: list[CallEvent] = []
        self.audio: dict[str, AudioFile] = {}
        self._failures: list[VoiceError] = []
        self._ids = itertools.count(1)
        self._prefix = secrets.token_hex(3)
        self._live_until: dict[str, float] = {}

    # -- failure rehearsal ---------------------------------------------------------------

    def fail_next(self, error: VoiceError, times: int = 1) -> None:
        """Make the next ``times`` requests raise ``error`` (as the provider refusing)."""
        self._failures.extend([error] * times)

    def _error(self, cls: type[VoiceError], message: str, **kwargs: Any) -> VoiceError:
        return cls(message, provider=self.name, plugin=self.plugin, **kwargs)

    def _emulator(self) -> SandboxEmulator | None:
        key = self.sandbox_settings.emulator
        if key is None:
            return None
        emulator = SandboxEmulator.find(key)
        if emulator is None:
            raise self._error(TransportError, f"no sandbox emulator {key!r} is running")
        return emulator

    async def _gate(self, operation: str) -> tuple[SandboxEmulator | None, FaultKind | None]:
        """Checks a real provider makes before acting; returns a fault to apply after."""
        if self._failures:
            raise self._failures.pop(0).with_context(provider=self.name, plugin=self.plugin)
        emulator = self._emulator()
        if emulator is None:
            return None, None
        emulator.requests_seen += 1
        token = self.sandbox_settings.token or ""
        if not hmac.compare_digest(token.encode(), emulator.token.encode()):
            raise SANDBOX_CODES.error("auth", provider=self.name)
        if abs(emulator.clock_skew) > SKEW_WINDOW:
            raise SANDBOX_CODES.error("expired", provider=self.name)
        fault = emulator.take_fault(operation)
        if fault is None:
            return emulator, None
        kind = fault.kind
        if kind is FaultKind.HTTP_ERROR:
            fake = HttpResponse(fault.status, {}, b"<html>sandbox</html>", "sandbox:")
            raise error_for_status(fake, provider=self.name, plugin=self.plugin)
        if kind is FaultKind.RATE_LIMIT:
            raise SANDBOX_CODES.error("rate", provider=self.name, retry_after=1.0)
        if kind is FaultKind.PROVIDER_ERROR:
            raise SANDBOX_CODES.error(fault.code or "unavailable", provider=self.name)
        if kind in (FaultKind.DROP_BEFORE, FaultKind.HANG_BEFORE):
            if kind is FaultKind.HANG_BEFORE:
                await asyncio.sleep(min(fault.seconds, self.settings.timeout))
            raise self._error(OutcomeUnknown, f"simulated {kind.value}")
        return emulator, kind

    async def _after(self, kind: FaultKind | None) -> None:
        """Apply a fault that strikes after the work was done: the outcome is unknown."""
        if kind is None:
            return
        if kind is FaultKind.TIMEOUT_AFTER:
            await asyncio.sleep(self.settings.timeout)
        raise self._error(OutcomeUnknown, f"simulated {kind.value} after acceptance")

    # -- calls ---------------------------------------------------------------------------

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        for index, prompt in enumerate(notification.prompts):
            if isinstance(prompt, Speech) and len(prompt.text) > MAX_TEXT:
                raise ValidationError(
                    f"prompts[{index}].text: at most {MAX_TEXT} characters, got {len(prompt.text)}",
                    provider=self.name,
                    plugin=self.plugin,
                )
        emulator, late_fault = await self._gate("/send")
        receipt = self._place(
            notification.to,
            notification.caller_id or self.settings.caller_id,
            notification.reference,
            collect=notification.collect is not None,
            emulator=emulator,
        )
        await self._after(late_fault)
        return receipt

    async def connect(self, request: ClickToCall) -> SendReceipt:
        emulator, late_fault = await self._gate("/connect")
        receipt = self._place(
            request.callee, request.caller, request.reference, collect=False, emulator=emulator
        )
        await self._after(late_fault)
        return receipt

    def _place(
        self,
        to: str,
        caller_id: str | None,
        reference: str | None,
        *,
        collect: bool,
        emulator: SandboxEmulator | None,
    ) -> SendReceipt:
        call_id = f"sbx-{self._prefix}-{next(self._ids):06d}"
        now = utcnow()
        record = self._final_record(call_id, to, caller_id, reference, collect=collect, now=now)
        if emulator is None:
            self._finish(record)
        else:
            emulator.record_placed(call_id, to, reference)
            self.records[call_id] = attrs.evolve(
                record,
                status=CallStatus.QUEUED,
                hangup=None,
                answered_at=None,
                ended_at=None,
                duration=None,
                billed_duration=None,
                cost=None,
                digits=None,
            )
            seconds = _lifetime(record)
            self._live_until[call_id] = time.monotonic() + seconds * emulator.speed
            emulator.spawn(self._lifecycle(emulator, record, seconds))
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=now,
            reference=reference,
            raw={"call_id": call_id},
        )

    async def _lifecycle(
        self, emulator: SandboxEmulator, record: CallRecord, seconds: float
    ) -> None:
        await emulator.sleep_simulated(seconds)
        current = self.records.get(record.call_id)
        if current is not None and current.status.is_final:
            record = current  # hung up meanwhile
        self._finish(record)
        if emulator.hook_base is None:
            return
        url = f"{emulator.hook_base}/record"
        event = self.events[-1]
        body = json.dumps([converter.unstructure(event)]).encode()
        signature = sign_push(emulator.token, url, body)
        await emulator.push(url, body, headers={SIGNATURE_HEADER: signature}, retries=3)

    def _final_record(
        self,
        call_id: str,
        to: str,
        caller_id: str | None,
        reference: str | None,
        *,
        collect: bool,
        now: datetime,
    ) -> CallRecord:
        scenario = scenario_for(to)
        cause = from_q850(scenario.q850)
        started = now + timedelta(seconds=1)
        ringing = started + timedelta(seconds=1) if scenario.ring_seconds else None
        answered = (
            started + timedelta(seconds=1 + scenario.ring_seconds) if scenario.answered else None
        )
        ended = (answered or ringing or started) + timedelta(
            seconds=scenario.talk_seconds if scenario.answered else scenario.ring_seconds
        )
        duration = scenario.talk_seconds if scenario.answered else 0
        minutes = (Decimal(duration) / 60).to_integral_value(rounding=ROUND_CEILING)
        price = self.sandbox_settings.price_per_minute
        return CallRecord(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            to=to,
            caller_id=caller_id,
            status=scenario.status,
            hangup=None if scenario.answered else cause,
            submitted_at=now,
            started_at=started,
            ringing_at=ringing,
            answered_at=answered,
            ended_at=ended,
            duration=duration,
            billed_duration=int(minutes) * 60,
            cost=Money(minutes * price, self.sandbox_settings.currency),
            digits=scenario.digits if collect and scenario.answered else None,
            reference=reference,
            raw={"scenario": scenario.name},
        )

    def _finish(self, record: CallRecord) -> None:
        self.records[record.call_id] = record
        self._live_until.pop(record.call_id, None)
        self.events.append(
            CallEvent(
                kind=EventKind.RECORD,
                call_id=record.call_id,
                provider=self.name,
                at=record.ended_at,
                record=record,
                reference=record.reference,
            )
        )

    # -- after the send ------------------------------------------------------------------

    async def get_record(self, call_id: str) -> CallRecord:
        await self._gate("/record")
        try:
            return self.records[call_id]
        except KeyError:
            raise self._error(NotFound, f"no call {call_id!r}") from None

    async def iter_records(self, start: datetime, end: datetime) -> AsyncIterator[CallRecord]:
        await self._gate("/records")
        for record in list(self.records.values()):
            if record.submitted_at is not None and start <= record.submitted_at < end:
                yield record

    async def hangup(self, call_id: str) -> None:
        await self._gate("/hangup")
        record = self.records.get(call_id)
        if record is None:
            raise self._error(NotFound, f"no call {call_id!r}")
        live_until = self._live_until.get(call_id)
        if record.status.is_final or live_until is None or time.monotonic() >= live_until:
            raise self._error(InvalidRequest, f"call {call_id!r} has already ended")
        now = utcnow()
        self.records[call_id] = attrs.evolve(
            record,
            status=CallStatus.CANCELED,
            hangup=HangupCause(HangupCategory.CANCELED, description="hung up through the API"),
            ended_at=now,
            duration=0,
            billed_duration=0,
            cost=Money(0, self.sandbox_settings.currency),
        )
        self._live_until.pop(call_id, None)

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        await self._gate("/audio")
        file_id = f"sbx-audio-{self._prefix}-{next(self._ids):06d}"
        audio = AudioFile(file_id=file_id, provider=self.name, status=AudioStatus.APPROVED)
        self.audio[file_id] = audio
        return audio

    def verify_webhook(self, kind: str, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """With a ``token`` configured, the ``X-Sandbox-Signature`` header must match."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes")
        token = self.sandbox_settings.token
        if token is not None:
            given = _header(headers, SIGNATURE_HEADER)
            if not hmac.compare_digest(given.encode(), sign_push(token, url, body).encode()):
                raise self._error(AuthenticationError, "push signature does not match")

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]:
        """Sandbox pushes: a JSON list of events as :data:`voicegw.converter` writes them."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes")
        try:
            data = json.loads(body)
            items = data if isinstance(data, list) else [data]
            events = [converter.structure(item, CallEvent) for item in items]
        except Exception as exc:
            raise self._error(InvalidRequest, f"not a sandbox push: {type(exc).__name__}") from None
        return [attrs.evolve(event, provider=self.name) for event in events]


def _header(headers: Mapping[str, str], name: str) -> str:
    lowered = name.lower()
    for key, value in headers.items():
        if key.lower() == lowered:
            return value
    return ""


def _lifetime(record: CallRecord) -> float:
    if record.ended_at is None or record.submitted_at is None:
        return 0.0
    return (record.ended_at - record.submitted_at).total_seconds()


def _factory(name: str, settings: SandboxSettings) -> SandboxProvider:
    return SandboxProvider(name, settings)


PLUGIN_SPEC = ProviderPlugin(
    name=PLUGIN,
    settings_type=SandboxSettings,
    factory=_factory,
    capabilities=SandboxProvider.capabilities,
    emulator=SandboxEmulator,
    codes={"api": SANDBOX_CODES},
    description="In-process provider: scenario-table outcomes, no network.",
)


@hookimpl
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Register the sandbox provider."""
    registry.add(PLUGIN_SPEC)
