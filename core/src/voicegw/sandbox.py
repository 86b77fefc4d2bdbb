"""The sandbox: an in-process provider for your own tests and the default configuration.

It places no real calls and opens no sockets. Outcomes follow the scenario table
(:mod:`voicegw.testing.scenarios`): a callee ending in ``017`` is busy, ``019`` does not answer,
and so on; any other number answers and presses ``1``. Records and events come out through the
same models and paths as a real provider's.

To rehearse failures in your tests, queue an error for the next send::

    sandbox = gateway.provider("sandbox")
    sandbox.fail_next(InsufficientFunds("balance too low"))
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Mapping
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Any

import attrs

from voicegw.causes import from_q850
from voicegw.errors import InvalidRequest, NotFound, ValidationError, VoiceError
from voicegw.hookspecs import hookimpl
from voicegw.models import (
    AudioFile,
    AudioStatus,
    AudioUpload,
    CallEvent,
    CallRecord,
    CallStatus,
    ClickToCall,
    EventKind,
    Money,
    SendReceipt,
    Speech,
    VoiceNotification,
    utcnow,
)
from voicegw.plugins import PluginRegistry
from voicegw.provider import BaseProvider, Capability, ProviderPlugin, ProviderSettings
from voicegw.serialization import converter
from voicegw.testing.scenarios import scenario_for

__all__ = ["SandboxProvider", "SandboxSettings"]

PLUGIN = "sandbox"
MAX_TEXT = 1000


def _price(value: Any) -> Decimal:
    if isinstance(value, float):
        value = str(value)
    return Decimal(value)


@attrs.frozen(kw_only=True)
class SandboxSettings(ProviderSettings):
    """Settings of the sandbox. ``price_per_minute`` is charged per started minute."""

    plugin: str = PLUGIN
    base_url: str = "sandbox:"
    currency: str = "USD"
    price_per_minute: Decimal = attrs.field(default=Decimal("0.01"), converter=_price)


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

    def fail_next(self, error: VoiceError, times: int = 1) -> None:
        """Make the next ``times`` requests raise ``error`` (as the provider refusing)."""
        self._failures.extend([error] * times)

    def _maybe_fail(self) -> None:
        if self._failures:
            error = self._failures.pop(0)
            raise error.with_context(provider=self.name, plugin=self.plugin)

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        self._maybe_fail()
        for index, prompt in enumerate(notification.prompts):
            if isinstance(prompt, Speech) and len(prompt.text) > MAX_TEXT:
                raise ValidationError(
                    f"prompts[{index}].text: at most {MAX_TEXT} characters, got {len(prompt.text)}",
                    provider=self.name,
                    plugin=self.plugin,
                )
        call_id = f"sbx-{next(self._ids):08d}"
        now = utcnow()
        record = self._final_record(
            call_id,
            notification.to,
            notification.caller_id or self.settings.caller_id,
            notification.reference,
            collect=notification.collect is not None,
            now=now,
        )
        self._finish(record)
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=now,
            reference=notification.reference,
            raw={"call_id": call_id},
        )

    async def connect(self, request: ClickToCall) -> SendReceipt:
        self._maybe_fail()
        call_id = f"sbx-{next(self._ids):08d}"
        now = utcnow()
        record = self._final_record(
            call_id, request.callee, request.caller, request.reference, collect=False, now=now
        )
        self._finish(record)
        return SendReceipt(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            accepted_at=now,
            reference=request.reference,
        )

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
        return CallRecord(
            call_id=call_id,
            provider=self.name,
            plugin=self.plugin,
            to=to,
            caller_id=caller_id,
            status=scenario.status,
            hangup=cause,
            submitted_at=now,
            started_at=started,
            ringing_at=ringing,
            answered_at=answered,
            ended_at=ended,
            duration=duration,
            billed_duration=int(minutes) * 60,
            cost=Money(
                minutes * self.sandbox_settings.price_per_minute, self.sandbox_settings.currency
            ),
            digits=scenario.digits if collect and scenario.answered else None,
            reference=reference,
            raw={"scenario": scenario.name},
        )

    def _finish(self, record: CallRecord) -> None:
        self.records[record.call_id] = record
        at = record.ended_at
        self.events.append(
            CallEvent(
                kind=EventKind.RECORD,
                call_id=record.call_id,
                provider=self.name,
                at=at,
                record=record,
                reference=record.reference,
            )
        )

    async def get_record(self, call_id: str) -> CallRecord:
        self._maybe_fail()
        try:
            return self.records[call_id]
        except KeyError:
            raise NotFound(f"no call {call_id!r}", provider=self.name, plugin=self.plugin) from None

    async def iter_records(self, start: datetime, end: datetime) -> AsyncIterator[CallRecord]:
        for record in list(self.records.values()):
            if record.submitted_at is not None and start <= record.submitted_at < end:
                yield record

    async def hangup(self, call_id: str) -> None:
        self._maybe_fail()
        record = await self.get_record(call_id)
        if record.status.is_final:
            raise InvalidRequest(
                f"call {call_id!r} has already ended", provider=self.name, plugin=self.plugin
            )
        self.records[call_id] = attrs.evolve(record, status=CallStatus.CANCELED)

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        self._maybe_fail()
        file_id = f"sbx-audio-{next(self._ids):08d}"
        audio = AudioFile(file_id=file_id, provider=self.name, status=AudioStatus.APPROVED)
        self.audio[file_id] = audio
        return audio

    def parse_webhook(
        self, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> list[CallEvent]:
        """Sandbox pushes are JSON lists of events as :data:`voicegw.converter` writes them."""
        if kind != "record":
            raise self.unsupported(f"send {kind!r} pushes")
        try:
            data = json.loads(body)
            items = data if isinstance(data, list) else [data]
            return [converter.structure(item, CallEvent) for item in items]
        except Exception as exc:
            raise InvalidRequest(
                f"not a sandbox push: {type(exc).__name__}", provider=self.name, plugin=self.plugin
            ) from None


def _factory(name: str, settings: SandboxSettings) -> SandboxProvider:
    return SandboxProvider(name, settings)


PLUGIN_SPEC = ProviderPlugin(
    name=PLUGIN,
    settings_type=SandboxSettings,
    factory=_factory,
    capabilities=SandboxProvider.capabilities,
    description="In-process provider: scenario-table outcomes, no network.",
)


@hookimpl
def voicegw_register_providers(registry: PluginRegistry) -> None:
    """Register the sandbox provider."""
    registry.add(PLUGIN_SPEC)
