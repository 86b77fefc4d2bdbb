"""The conformance kit: base test classes every provider plugin passes.

Subclass :class:`ProviderConformance` in your plugin's tests and run plain ``pytest``::

    from voicegw.testing.conformance import ProviderConformance

    class TestConformance(ProviderConformance):
        plugin = "itniotech"
        number_prefix = "+9198765"      # scenario numbers are prefix + 3-digit suffix
        secret_setting = "api_secret"   # the setting that must never show

The kit starts your plugin's emulator on loopback, a push receiver beside it, and a gateway
configured from ``emulator.provider_settings()``. It then checks, over real HTTP:

* every capability you declare is implemented, and every prompt type you claim can be sent;
* every scenario of :mod:`voicegw.testing.scenarios` ends in the right status and category,
  read through ``get_record`` or through the pushes your emulator sends;
* every error entry of your code table, injected by the emulator, raises its class with its
  code, ``retryable`` and ``call_placed``;
* transport faults: 503 (not placed), bare 500 (unknown), dropped connections, timeouts
  after acceptance, malformed bodies (unknown), rate limiting, a refused connection;
* clock skew → :class:`RequestExpired`; a wrong secret → :class:`AuthenticationError`, and
  the secret in no repr, error or log line;
* pushes: forged ones refused, and fuzzed bodies give events or a ``VoiceError``, nothing else.

A test is skipped only when the provider declares it lacks the capability the test needs.
Overriding a kit test needs a stated reason — decorate the override with
:func:`override_reason` — or the class fails to build.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs
import pytest
import pytest_asyncio
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw.errors import (
    AuthenticationError,
    NotFound,
    OutcomeUnknown,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    TransportError,
    ValidationError,
    VoiceError,
)
from voicegw.gateway import VoiceGateway
from voicegw.models import (
    Audio,
    AudioUpload,
    CallEvent,
    CallRecord,
    ClickToCall,
    DigitCollection,
    EventKind,
    Prompt,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw.plugins import default_registry
from voicegw.provider import BaseProvider, Capability, VoiceProvider, splits_webhooks
from voicegw.store import MemoryStore
from voicegw.testing.emulator import Emulator, FaultKind
from voicegw.testing.scenarios import ANSWERED, SCENARIOS, Scenario

__all__ = ["ProviderConformance", "PushReceiver", "override_reason", "requires"]

F = TypeVar("F", bound=Callable[..., Any])

PROVIDER = "under_test"


def override_reason(reason: str) -> Callable[[F], F]:
    """Mark a subclass's override of a kit test, with the reason it differs."""
    if not reason.strip():
        raise ValueError("override_reason needs a reason")

    def mark(func: F) -> F:
        func.__conformance_override_reason__ = reason  # type: ignore[attr-defined]
        return func

    return mark


def requires(*capabilities: Capability) -> Callable[[F], F]:
    """Run the test only for providers that declare every one of ``capabilities``."""

    def mark(func: F) -> F:
        func.__conformance_requires__ = frozenset(capabilities)  # type: ignore[attr-defined]
        return func

    return mark


@attrs.define
class Push:
    """One push as the receiver got it."""

    kind: str
    url: str
    headers: dict[str, str]
    body: bytes


class PushReceiver:
    """A loopback webhook receiver that keeps every push and answers as the provider expects."""

    def __init__(self) -> None:
        self.pushes: list[Push] = []
        self.provider: VoiceProvider | None = None
        self.hook_base = ""
        self._runner: web.AppRunner | None = None
        self.arrived = asyncio.Event()

    async def start(self) -> str:
        app = web.Application()
        app.router.add_post("/hooks/{kind}", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.hook_base = f"http://127.0.0.1:{port}/hooks"
        return self.hook_base

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _receive(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = await request.read()
        url = f"{self.hook_base}/{kind}"
        if request.query_string:
            url += f"?{request.query_string}"
        self.pushes.append(Push(kind, url, dict(request.headers), body))
        self.arrived.set()
        if self.provider is None:
            return web.Response(status=200)
        reply = self.provider.webhook_reply(kind, accepted=True)
        return web.Response(status=reply.status, body=reply.body, content_type=_ctype(reply))

    def events(self, provider: VoiceProvider) -> list[CallEvent]:
        """Every push parsed by ``provider`` (raising on a push it refuses)."""
        events: list[CallEvent] = []
        for push in self.pushes:
            events.extend(provider.parse_webhook(push.kind, push.headers, push.body, push.url))
        return events


def _ctype(reply: Any) -> str:
    return str(reply.content_type).split(";")[0]


_CAPABILITY_METHODS: dict[Capability, str] = {
    Capability.SPEECH: "send",
    Capability.TEMPLATE: "send",
    Capability.AUDIO: "send",
    Capability.VERIFICATION_CODE: "send",
    Capability.COLLECT_DIGITS: "send",
    Capability.HANGUP: "hangup",
    Capability.CLICK_TO_CALL: "connect",
    Capability.RECORD_QUERY: "get_record",
    Capability.RECORD_SEARCH: "iter_records",
    Capability.STATUS_PUSH: "parse_webhook",
    Capability.RECORD_PUSH: "parse_webhook",
    Capability.AUDIO_UPLOAD: "upload_audio",
}

_SILENCE_WAV = (
    b"RIFF"
    + struct.pack("<I", 36 + 1600)
    + b"WAVEfmt "
    + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data"
    + struct.pack("<I", 1600)
    + b"\x00" * 1600
)


class ProviderConformance:
    """Base class of the conformance suite. Set the class attributes in your subclass.

    Required: ``plugin``. Usually also ``number_prefix`` (a prefix that makes valid numbers
    for your provider when 3 digits are appended) and ``secret_setting``.
    """

    #: The plugin name under test (its entry-point name).
    plugin: ClassVar[str] = ""
    #: Scenario numbers are this prefix plus a 3-digit suffix.
    number_prefix: ClassVar[str] = "+8613800000"
    #: The prompts the kit sends for each capability.
    speech: ClassVar[Speech] = Speech("Hello from the voicegw conformance kit", "en")
    verification_code: ClassVar[VerificationCode] = VerificationCode("583021", "en")
    template: ClassVar[Template | None] = None
    #: An audio file id the emulator accepts; None: upload one first (needs AUDIO_UPLOAD).
    audio_file_id: ClassVar[str | None] = None
    #: The name of the setting holding the secret the kit corrupts and looks for.
    secret_setting: ClassVar[str | None] = None
    #: Options for the emulator's constructor, and overrides for the provider settings.
    emulator_options: ClassVar[Mapping[str, Any]] = {}
    settings_overrides: ClassVar[Mapping[str, Any]] = {}
    #: The code table (``ProviderPlugin.codes`` key) whose errors the send path raises.
    error_table: ClassVar[str] = "api"
    #: Codes of that table the emulator cannot make the send path raise, with the reason.
    skip_codes: ClassVar[Mapping[str, str]] = {}
    #: Whether pushes are authenticated (a forged push must then be refused).
    pushes_authenticated: ClassVar[bool] = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, value in vars(cls).items():
            if not name.startswith("test_") or not hasattr(ProviderConformance, name):
                continue
            if not getattr(value, "__conformance_override_reason__", None):
                raise TypeError(
                    f"{cls.__name__}.{name} overrides a conformance test without a reason: "
                    "decorate it with @override_reason('why this provider differs')"
                )
        if not all(str(reason).strip() for reason in cls.skip_codes.values()):
            raise TypeError(f"{cls.__name__}.skip_codes needs a reason for every code")

    # -- fixtures ------------------------------------------------------------------------

    @pytest.fixture(autouse=True)
    def _capability_gate(self, request: pytest.FixtureRequest) -> None:
        needed: frozenset[Capability] = getattr(
            request.function, "__conformance_requires__", frozenset()
        )
        if not needed:
            return
        spec = default_registry().get(self.plugin)
        missing = needed - spec.capabilities
        if missing:
            names = ", ".join(sorted(m.value for m in missing))
            pytest.skip(f"{self.plugin} declares no {names} capability")

    @pytest_asyncio.fixture
    async def emulator(self) -> AsyncIterator[Emulator]:
        """The plugin's emulator, started on loopback."""
        spec = default_registry().get(self.plugin)
        if spec.emulator is None:
            pytest.fail(f"plugin {self.plugin!r} ships no emulator: the kit needs one")
        emulator = spec.emulator(**self.emulator_options)
        await emulator.start()
        try:
            yield emulator
        finally:
            await emulator.close()

    @pytest_asyncio.fixture
    async def receiver(self, emulator: Emulator) -> AsyncIterator[PushReceiver]:
        """A loopback push receiver the emulator pushes to."""
        receiver = PushReceiver()
        await receiver.start()
        try:
            yield receiver
        finally:
            await receiver.close()

    def settings_for(self, emulator: Emulator, receiver: PushReceiver, **extra: Any) -> Any:
        """The provider settings mapping the kit configures."""
        settings = emulator.provider_settings()
        settings.update(emulator.push_settings(receiver.hook_base))
        settings.update(self.settings_overrides)
        settings.update(extra)
        return settings

    async def open_gateway(self, settings: Mapping[str, Any]) -> VoiceGateway:
        config = {"providers": {PROVIDER: dict(settings)}, "gateway": {"retries": 0}}
        return VoiceGateway.from_config(config)

    @pytest_asyncio.fixture
    async def gateway(
        self, emulator: Emulator, receiver: PushReceiver
    ) -> AsyncIterator[VoiceGateway]:
        """A gateway with one provider, named ``under_test``, pointed at the emulator."""
        gateway = await self.open_gateway(self.settings_for(emulator, receiver))
        receiver.provider = gateway.provider(PROVIDER)
        async with gateway:
            yield gateway

    @pytest.fixture
    def provider(self, gateway: VoiceGateway) -> VoiceProvider:
        """The provider object under test."""
        return gateway.provider(PROVIDER)

    # -- helpers -------------------------------------------------------------------------

    def number(self, suffix: str | None) -> str:
        """The callee number for a scenario suffix (None: the answered scenario)."""
        return self.number_prefix + (suffix or "100")

    def default_prompt(self, provider: VoiceProvider) -> Prompt:
        """The simplest prompt this provider can play."""
        caps = provider.capabilities
        if Capability.SPEECH in caps:
            return self.speech
        if Capability.TEMPLATE in caps and self.template is not None:
            return self.template
        if Capability.VERIFICATION_CODE in caps:
            return self.verification_code
        if Capability.AUDIO in caps and self.audio_file_id is not None:
            return Audio(self.audio_file_id)
        pytest.fail(
            f"{self.plugin}: no prompt to send — declare speech or verification_code, or set "
            "template / audio_file_id on the test class"
        )

    def notification(
        self, provider: VoiceProvider, suffix: str | None = None, **kwargs: Any
    ) -> VoiceNotification:
        prompts = kwargs.pop("prompts", None) or [self.default_prompt(provider)]
        reference = kwargs.pop("reference", f"kit-{suffix or 'answered'}")
        return VoiceNotification(self.number(suffix), prompts, reference=reference, **kwargs)

    async def final_record(
        self,
        provider: VoiceProvider,
        receipt: SendReceipt,
        emulator: Emulator,
        receiver: PushReceiver,
    ) -> CallRecord:
        """The call's final record: from the provider if it can be queried, else merged from
        its pushes in a store, exactly as the receiver and ``gateway.get_record`` do."""
        await emulator.drain()
        if Capability.RECORD_QUERY in provider.capabilities:
            return await provider.get_record(receipt.call_id)
        store = MemoryStore()
        await store.save_receipt(receipt)
        events = [e for e in receiver.events(provider) if e.call_id == receipt.call_id]
        await store.save_events(events, plugin=provider.plugin)
        found = await store.get_record(receipt.provider, receipt.call_id)
        if found is None or not found.status.is_final:
            pytest.fail(
                f"{self.plugin} declares no record_query and no final record was pushed for "
                f"{receipt.call_id!r} ({len(receiver.pushes)} pushes received)"
            )
        return found

    # -- registration and capabilities ---------------------------------------------------

    def test_plugin_is_registered(self) -> None:
        spec = default_registry().get(self.plugin)
        assert spec.name == self.plugin
        assert spec.capabilities, "a plugin must declare what it can do"
        assert self.error_table in spec.codes, f"codes[{self.error_table!r}] is missing"

    def test_declared_capabilities_are_implemented(self, provider: VoiceProvider) -> None:
        spec = default_registry().get(self.plugin)
        assert provider.capabilities <= spec.capabilities | {Capability.SPEECH}, (
            "the provider claims capabilities its plugin does not declare"
        )
        for capability in provider.capabilities:
            method = _CAPABILITY_METHODS[capability]
            if method == "parse_webhook" and splits_webhooks(provider):
                continue  # BaseProvider.parse_webhook is verify_webhook, then read_webhook
            implementation = getattr(type(provider), method)
            assert implementation is not getattr(BaseProvider, method), (
                f"{capability.value} is declared but {method}() is BaseProvider's default"
            )
        kinds: frozenset[str] = getattr(provider, "webhook_kinds", frozenset())
        if Capability.STATUS_PUSH in provider.capabilities:
            assert "status" in kinds
        if Capability.RECORD_PUSH in provider.capabilities:
            assert "record" in kinds

    # -- sending each prompt type --------------------------------------------------------

    async def _send_and_check(
        self, provider: VoiceProvider, emulator: Emulator, prompt: Prompt
    ) -> SendReceipt:
        before = len(emulator.placed)
        note = self.notification(provider, prompts=[prompt], reference=f"kit-{type(prompt)}")
        receipt = await provider.send(note)
        assert receipt.call_id, "a receipt needs the provider's call id"
        assert receipt.provider == PROVIDER
        assert receipt.plugin == self.plugin
        assert receipt.accepted_at.tzinfo is not None
        assert len(emulator.placed) == before + 1, "the emulator placed no call"
        assert emulator.placed[-1].call_id == receipt.call_id
        return receipt

    @requires(Capability.SPEECH)
    async def test_send_speech(self, provider: VoiceProvider, emulator: Emulator) -> None:
        await self._send_and_check(provider, emulator, self.speech)

    @requires(Capability.VERIFICATION_CODE)
    async def test_send_verification_code(
        self, provider: VoiceProvider, emulator: Emulator
    ) -> None:
        await self._send_and_check(provider, emulator, self.verification_code)

    @requires(Capability.TEMPLATE)
    async def test_send_template(self, provider: VoiceProvider, emulator: Emulator) -> None:
        if self.template is None:
            pytest.fail("the provider declares templates: set `template` on the test class")
        await self._send_and_check(provider, emulator, self.template)

    @requires(Capability.AUDIO)
    async def test_send_audio(self, provider: VoiceProvider, emulator: Emulator) -> None:
        file_id = self.audio_file_id
        if file_id is None:
            if Capability.AUDIO_UPLOAD not in provider.capabilities:
                pytest.fail("declares audio but no upload: set `audio_file_id` on the class")
            uploaded = await provider.upload_audio(
                AudioUpload(data=_SILENCE_WAV, filename="kit-tone.wav", language="en")
            )
            file_id = uploaded.file_id
        await self._send_and_check(provider, emulator, Audio(file_id))

    @requires(Capability.COLLECT_DIGITS)
    async def test_collected_digits_reach_the_record(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        note = self.notification(provider, collect=DigitCollection(max_digits=1))
        receipt = await provider.send(note)
        record = await self.final_record(provider, receipt, emulator, receiver)
        assert record.digits == ANSWERED.digits

    @requires(Capability.SPEECH)
    async def test_bad_input_is_refused_before_sending(
        self, provider: VoiceProvider, emulator: Emulator
    ) -> None:
        seen = emulator.requests_seen
        with pytest.raises(ValidationError):
            await provider.send(self.notification(provider, prompts=[Speech("x" * 20000, "en")]))
        assert emulator.requests_seen == seen, "an invalid notification reached the provider"

    # -- scenarios -----------------------------------------------------------------------

    @pytest.mark.parametrize(
        ("suffix", "scenario"),
        [(None, ANSWERED), *SCENARIOS.items()],
        ids=lambda value: value.name if isinstance(value, Scenario) else None,
    )
    async def test_scenario_record(
        self,
        provider: VoiceProvider,
        emulator: Emulator,
        receiver: PushReceiver,
        suffix: str | None,
        scenario: Scenario,
    ) -> None:
        note = self.notification(provider, suffix)
        receipt = await provider.send(note)
        record = await self.final_record(provider, receipt, emulator, receiver)
        assert record.call_id == receipt.call_id
        assert record.provider == PROVIDER
        assert record.status is scenario.status, f"{scenario.name}: status {record.status}"
        if scenario.answered:
            assert record.hangup is None or record.hangup.category.value == "normal"
            assert record.answered_at is not None
            assert record.duration is not None
            assert record.duration >= 0
        else:
            assert record.hangup is not None, f"{scenario.name}: no hang-up cause"
            assert record.hangup.category is scenario.category
            assert record.answered_at is None
        assert record.reference == note.reference
        for name in ("submitted_at", "started_at", "ringing_at", "answered_at", "ended_at"):
            value = getattr(record, name)
            assert value is None or value.utcoffset() is not None, f"{name} is naive"

    # -- provider refusals ---------------------------------------------------------------

    async def test_every_error_code_raises_its_class(
        self, provider: VoiceProvider, emulator: Emulator
    ) -> None:
        table = default_registry().get(self.plugin).codes[self.error_table]
        problems: list[str] = []
        checked = 0
        for entry in table:
            if entry.error is None or entry.code in self.skip_codes:
                continue
            emulator.clear_faults()
            emulator.inject(FaultKind.PROVIDER_ERROR, code=entry.code, times=2)
            placed = len(emulator.placed)
            try:
                await provider.send(self.notification(provider))
            except VoiceError as exc:
                checked += 1
                if type(exc) is not entry.error:
                    problems.append(f"{entry.code}: raised {type(exc).__name__}")
                elif exc.code != entry.code:
                    problems.append(f"{entry.code}: error carries code {exc.code!r}")
                elif exc.call_placed != entry.call_placed:
                    problems.append(f"{entry.code}: call_placed {exc.call_placed!r}")
                elif exc.retryable != entry.effective_retryable:
                    problems.append(f"{entry.code}: retryable {exc.retryable!r}")
            else:
                problems.append(f"{entry.code}: the send succeeded")
            if len(emulator.placed) != placed:
                problems.append(f"{entry.code}: a call was placed")
        emulator.clear_faults()
        assert checked, "the code table lists no error the kit could inject"
        assert not problems, "\n".join(problems)

    @pytest.mark.parametrize(
        ("kind", "options", "error", "call_placed", "placed"),
        [
            (FaultKind.HTTP_ERROR, {"status": 503}, ProviderUnavailable, False, False),
            (FaultKind.HTTP_ERROR, {"status": 500}, ProviderUnavailable, None, False),
            (FaultKind.HTTP_ERROR, {"status": 502}, ProviderUnavailable, None, False),
            (FaultKind.DROP_BEFORE, {}, OutcomeUnknown, None, False),
            (FaultKind.DROP_AFTER, {}, OutcomeUnknown, None, True),
            (FaultKind.MALFORMED, {}, OutcomeUnknown, None, True),
            (FaultKind.RATE_LIMIT, {}, RateLimited, False, False),
        ],
        ids=["503", "bare-500", "bare-502", "drop-before", "drop-after", "malformed", "rate"],
    )
    async def test_transport_fault(
        self,
        provider: VoiceProvider,
        emulator: Emulator,
        kind: FaultKind,
        options: dict[str, Any],
        error: type[VoiceError],
        call_placed: bool | None,
        placed: bool,
    ) -> None:
        emulator.inject(kind, times=3, **options)
        before = len(emulator.placed)
        with pytest.raises(error) as caught:
            await provider.send(self.notification(provider))
        assert caught.value.call_placed is call_placed
        assert (len(emulator.placed) > before) is placed
        if call_placed is None:
            assert len(emulator.placed) <= before + 1, "an ambiguous send was repeated"

    async def test_timeout_after_acceptance_is_outcome_unknown(
        self, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        gateway = await self.open_gateway(self.settings_for(emulator, receiver, timeout=0.3))
        async with gateway:
            provider = gateway.provider(PROVIDER)
            emulator.inject(FaultKind.TIMEOUT_AFTER, seconds=2.0, times=3)
            with pytest.raises(OutcomeUnknown) as caught:
                await provider.send(self.notification(provider))
        assert caught.value.call_placed is None
        assert len(emulator.placed) == 1, "the call was placed exactly once"

    async def test_refused_connection_is_not_placed(
        self, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            closed_port = sock.getsockname()[1]
        settings = self.settings_for(emulator, receiver, base_url=f"http://127.0.0.1:{closed_port}")
        settings.update(emulator.unreachable_settings(closed_port))
        gateway = await self.open_gateway(settings)
        async with gateway:
            provider = gateway.provider(PROVIDER)
            with pytest.raises(TransportError) as caught:
                await provider.send(self.notification(provider))
        assert type(caught.value) is TransportError
        assert caught.value.call_placed is False

    async def test_clock_skew_is_request_expired(
        self, provider: VoiceProvider, emulator: Emulator
    ) -> None:
        emulator.clock_skew = 3 * 3600.0
        with pytest.raises(RequestExpired) as caught:
            await provider.send(self.notification(provider))
        assert caught.value.call_placed is False
        assert not emulator.placed

    async def test_wrong_secret_is_authentication_error(
        self, emulator: Emulator, receiver: PushReceiver, caplog: pytest.LogCaptureFixture
    ) -> None:
        if self.secret_setting is None:
            pytest.fail("set `secret_setting` to the name of the provider's secret setting")
        wrong = "kit-wrong-secret-0123456789"
        settings = self.settings_for(emulator, receiver, **{self.secret_setting: wrong})
        caplog.set_level(logging.DEBUG)
        gateway = await self.open_gateway(settings)
        async with gateway:
            provider = gateway.provider(PROVIDER)
            with pytest.raises(AuthenticationError) as caught:
                await provider.send(self.notification(provider))
            shown = [
                repr(provider),
                repr(gateway.config),
                str(caught.value),
                repr(caught.value),
                caplog.text,
            ]
        assert caught.value.call_placed is False
        assert not emulator.placed
        for text in shown:
            assert wrong not in text, "the secret shows in a repr, an error or a log line"

    async def test_real_secret_never_shows(self, provider: VoiceProvider) -> None:
        if self.secret_setting is None:
            pytest.fail("set `secret_setting` to the name of the provider's secret setting")
        settings = getattr(provider, "settings", None)
        secret = getattr(settings, self.secret_setting, None)
        assert secret, f"the provider's settings have no {self.secret_setting!r}"
        assert str(secret) not in repr(provider)
        assert str(secret) not in repr(settings)

    # -- after the send ------------------------------------------------------------------

    @requires(Capability.RECORD_QUERY)
    async def test_unknown_call_is_not_found(self, provider: VoiceProvider) -> None:
        with pytest.raises(NotFound):
            await provider.get_record("999999999999999999")

    @requires(Capability.HANGUP)
    async def test_hangup_ends_a_live_call(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        emulator.speed = 0.05  # a 60-second ring now lasts 3 s: long enough to hang up
        receipt = await provider.send(self.notification(provider, "019"))
        await asyncio.sleep(0.05)
        await provider.hangup(receipt.call_id)
        emulator.speed = 0.0
        record = await self.final_record(provider, receipt, emulator, receiver)
        assert record.status.is_final

    @requires(Capability.HANGUP)
    async def test_hangup_of_an_unknown_call_is_refused(self, provider: VoiceProvider) -> None:
        with pytest.raises(VoiceError) as caught:
            await provider.hangup("no-such-call-0000")
        assert caught.value.call_placed is False

    @requires(Capability.CLICK_TO_CALL)
    async def test_click_to_call(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        request = ClickToCall(
            caller=self.number("101"), callee=self.number("102"), reference="kit-c2c"
        )
        receipt = await provider.connect(request)
        assert receipt.call_id
        record = await self.final_record(provider, receipt, emulator, receiver)
        assert record.status.is_final
        assert record.reference == "kit-c2c"

    @requires(Capability.AUDIO_UPLOAD)
    async def test_upload_audio(self, provider: VoiceProvider) -> None:
        uploaded = await provider.upload_audio(
            AudioUpload(data=_SILENCE_WAV, filename="kit-tone.wav", language="en")
        )
        assert uploaded.file_id
        assert uploaded.provider == PROVIDER

    # -- pushes --------------------------------------------------------------------------

    async def _one_push(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> Any:
        await provider.send(self.notification(provider))
        await emulator.drain()
        if not receiver.pushes:
            pytest.fail("the emulator pushed nothing to the receiver")
        return receiver.pushes[-1]

    async def test_pushes_parse_into_events(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        if not getattr(provider, "webhook_kinds", None):
            pytest.skip(f"{self.plugin} declares no push kinds")
        await self._one_push(provider, emulator, receiver)
        events = receiver.events(provider)
        assert events, "pushes arrived but gave no events"
        for event in events:
            assert event.provider == PROVIDER
            assert event.at is None or event.at.utcoffset() is not None
            if event.kind in (EventKind.ENDED, EventKind.RECORD):
                assert event.record is not None, f"a {event.kind.value} event needs its record"
                assert event.record.call_id == event.call_id

    async def test_forged_push_is_refused(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        if not getattr(provider, "webhook_kinds", None):
            pytest.skip(f"{self.plugin} declares no push kinds")
        if not self.pushes_authenticated:
            pytest.fail("pushes_authenticated is False: state the reason with override_reason")
        push = await self._one_push(provider, emulator, receiver)
        forged_url = push.url.replace("127.0.0.1", "attacker.invalid", 1).split("?")[0]
        with pytest.raises(AuthenticationError):
            provider.parse_webhook(push.kind, push.headers, push.body, forged_url)
        if splits_webhooks(provider):
            with pytest.raises(AuthenticationError):
                provider.verify_webhook(push.kind, push.headers, push.body, forged_url)

    async def test_verify_then_read_is_parse(
        self, provider: VoiceProvider, emulator: Emulator, receiver: PushReceiver
    ) -> None:
        """A provider that splits verifying from reading gives the events parsing gives."""
        if not getattr(provider, "webhook_kinds", None):
            pytest.skip(f"{self.plugin} declares no push kinds")
        if not splits_webhooks(provider):
            pytest.skip(f"{self.plugin} parses pushes in one step (parse_webhook)")
        await self._one_push(provider, emulator, receiver)
        for push in receiver.pushes:
            provider.verify_webhook(push.kind, push.headers, push.body, push.url)
            read = provider.read_webhook(push.kind, push.body)
            parsed = provider.parse_webhook(push.kind, push.headers, push.body, push.url)
            assert read == parsed, "read_webhook must give what parse_webhook gives"

    async def test_fuzzed_pushes_stay_in_the_taxonomy(self, provider: VoiceProvider) -> None:
        kinds = sorted(getattr(provider, "webhook_kinds", ()) or ())
        if not kinds:
            pytest.skip(f"{self.plugin} declares no push kinds")

        @settings(
            max_examples=200,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture],
        )
        @given(
            kind=st.sampled_from(kinds),
            body=st.one_of(
                st.binary(max_size=300),
                st.recursive(
                    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: (
                        st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=6)
                    ),
                    max_leaves=20,
                ).map(lambda value: __import__("json").dumps(value).encode()),
            ),
        )
        def check(kind: str, body: bytes) -> None:
            try:
                if splits_webhooks(provider):  # past the signature check, into the parser
                    events = provider.read_webhook(kind, body)
                else:
                    events = provider.parse_webhook(kind, {}, body, "http://127.0.0.1/hooks/x")
            except VoiceError:
                return
            assert isinstance(events, list)
            for event in events:
                assert isinstance(event, CallEvent)

        check()
