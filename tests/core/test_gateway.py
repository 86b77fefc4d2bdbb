"""The gateway's routing rules, against scripted fake providers.

* a send moves on (retried or failed over) only when ``call_placed is False``;
* one retry budget per logical send, shared by every hop;
* retry-after is honoured; a wait beyond ``max_retry_wait`` fails over instead;
* authentication / permission / configuration errors cool a provider down;
* capabilities are checked before anything is sent;
* every attempt is listed on the receipt or the final error.

Time is fake: the gateway gets a recording ``sleep`` and a settable ``clock``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

import voicegw.sandbox
from voicegw import (
    Attempt,
    AudioFile,
    AudioUpload,
    CallRecord,
    Capability,
    ClickToCall,
    DigitCollection,
    ProviderPlugin,
    ProviderSettings,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceGateway,
    VoiceNotification,
    hookimpl,
    load_config,
)
from voicegw.config import Config
from voicegw.errors import (
    AuthenticationError,
    ConfigurationError,
    InsufficientFunds,
    InvalidRequest,
    NotFound,
    OutcomeUnknown,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    StoreError,
    TransportError,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.gateway import required_capabilities
from voicegw.models import CallEvent, CallStatus
from voicegw.plugins import PluginRegistry
from voicegw.provider import BaseProvider
from voicegw.store import MemoryStore

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ALL = tuple(c.value for c in Capability)
NOTE = VoiceNotification("+8613800000100", [Speech("Your code is 1234", "en")], reference="r-1")

# -- the fake provider --------------------------------------------------------------------------


class FakeClock:
    """A monotonic clock the test moves by hand (and the fake sleep moves forward)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@attrs.frozen(kw_only=True)
class FakeSettings(ProviderSettings):
    plugin: str = "fake"
    caps: tuple[str, ...] = ALL
    #: Simulated seconds each request takes (moves the shared fake clock).
    latency: float = 0.0


class FakeProvider(BaseProvider):
    """Answers every request from ``script``: an exception to raise, or None for success."""

    plugin_name = "fake"
    clock: FakeClock | None = None

    def __init__(self, name: str, settings: FakeSettings) -> None:
        super().__init__(name, settings)
        self.fake_settings = settings
        self.capabilities = frozenset(Capability(c) for c in settings.caps)
        self.script: list[BaseException | None] = []
        self.calls: list[str] = []
        self.wall_times: list[float] = []
        self.closed = False
        self.close_error: Exception | None = None

    def fail(self, *outcomes: BaseException | None) -> None:
        self.script.extend(outcomes)

    def _next(self, operation: str) -> None:
        self.calls.append(operation)
        self.wall_times.append(time.monotonic())
        if FakeProvider.clock is not None:
            FakeProvider.clock.now += self.fake_settings.latency
        if self.script:
            outcome = self.script.pop(0)
            if outcome is not None:
                raise outcome

    def _receipt(self) -> SendReceipt:
        return SendReceipt(
            call_id=f"{self.name}-{len(self.calls)}",
            provider=self.name,
            plugin=self.plugin,
            accepted_at=NOW,
        )

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        self._next("send")
        return self._receipt()

    async def connect(self, request: ClickToCall) -> SendReceipt:
        self._next("connect")
        return self._receipt()

    async def get_record(self, call_id: str) -> CallRecord:
        self._next(f"get_record {call_id}")
        return CallRecord(
            call_id=call_id, provider=self.name, plugin=self.plugin, status="completed"
        )

    async def hangup(self, call_id: str) -> None:
        self._next(f"hangup {call_id}")

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        self._next("upload_audio")
        return AudioFile(file_id="f1", provider=self.name, status="approved")

    def parse_webhook(
        self, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> list[CallEvent]:
        self.calls.append(f"parse_webhook {kind}")
        return [CallEvent(kind="ended", call_id=body.decode(), provider=self.name)]

    async def aclose(self) -> None:
        self.closed = True
        if self.close_error is not None:
            raise self.close_error


def _factory(name: str, settings: FakeSettings) -> FakeProvider:
    if settings.base_url == "explode":
        raise ValidationError("base_url must be a URL")
    return FakeProvider(name, settings)


FAKE = ProviderPlugin(name="fake", settings_type=FakeSettings, factory=_factory, capabilities=ALL)


class FakePlugin:
    @hookimpl
    def voicegw_register_providers(self, registry: PluginRegistry) -> None:
        registry.add(FAKE)


@pytest.fixture
def registry() -> PluginRegistry:
    registry = PluginRegistry(entry_points=False)
    registry.register(FakePlugin(), name="fake-plugin")
    registry.register(voicegw.sandbox)
    return registry


@attrs.define
class World:
    """A gateway over fake providers, with its fake clock and the waits it asked for."""

    gateway: VoiceGateway
    clock: FakeClock
    sleeps: list[float]

    def __getitem__(self, name: str) -> FakeProvider:
        provider = self.gateway.provider(name)
        assert isinstance(provider, FakeProvider)
        return provider

    def total_calls(self) -> int:
        return sum(len(self[name].calls) for name in self.gateway.providers)


MakeWorld = Callable[..., World]


@pytest.fixture
def make_world(registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch) -> MakeWorld:
    def make(
        providers: Mapping[str, Mapping[str, Any]] | None = None,
        store: MemoryStore | None = None,
        **gateway: Any,
    ) -> World:
        clock = FakeClock()
        monkeypatch.setattr(FakeProvider, "clock", clock)
        sleeps: list[float] = []

        async def sleep(seconds: float) -> None:
            sleeps.append(seconds)
            clock.now += seconds

        tables = {
            name: {"plugin": "fake", **opts}
            for name, opts in (providers or {"a": {}, "b": {}}).items()
        }
        config = load_config({"gateway": gateway, "providers": tables}, registry=registry)
        return World(
            VoiceGateway(config, registry=registry, store=store, sleep=sleep, clock=clock),
            clock,
            sleeps,
        )

    return make


# -- the routing matrix -------------------------------------------------------------------------

#: Every error class a provider may raise, and whether a send moves to the next hop after it
#: when the instance keeps its class default for ``call_placed``.
MOVES_ON: dict[type[VoiceError], bool] = {
    VoiceError: True,
    ConfigurationError: True,
    ValidationError: True,
    UnsupportedFeature: True,
    ProviderError: True,
    AuthenticationError: True,
    PermissionDenied: True,
    InsufficientFunds: True,
    RequestExpired: True,
    InvalidRequest: True,
    RateLimited: True,
    NotFound: True,
    ProviderUnavailable: True,
    TransportError: True,
    OutcomeUnknown: False,  # call_placed None: never failed over
    StoreError: False,  # call_placed None: says nothing about the call
}


def test_the_matrix_covers_every_error_class() -> None:
    import voicegw.errors

    assert {getattr(voicegw.errors, n) for n in voicegw.errors.__all__} == set(MOVES_ON)


@pytest.mark.parametrize("cls", list(MOVES_ON), ids=lambda c: c.__name__)
async def test_first_hop_error_fails_over_only_when_not_placed(
    make_world: MakeWorld, cls: type[VoiceError]
) -> None:
    world = make_world(retries=0)
    error = cls("first hop said no")
    world["a"].fail(error)
    if MOVES_ON[cls]:
        receipt = await world.gateway.send(NOTE)
        assert receipt.provider == "b"
        assert world["b"].calls == ["send"]
        assert [a.error for a in receipt.attempts] == [cls.__name__, None]
    else:
        with pytest.raises(cls) as info:
            await world.gateway.send(NOTE)
        assert info.value is error
        assert world["b"].calls == []
    assert world["a"].calls == ["send"]


@pytest.mark.parametrize("cls", list(MOVES_ON), ids=lambda c: c.__name__)
@pytest.mark.parametrize("placed", [None, True])
async def test_an_error_that_may_have_placed_the_call_is_raised_at_once(
    make_world: MakeWorld, cls: type[VoiceError], placed: bool | None
) -> None:
    world = make_world(retries=5)
    error = cls("maybe placed", call_placed=placed, retryable=True)
    world["a"].fail(error)
    with pytest.raises(cls) as info:
        await world.gateway.send(NOTE)
    assert info.value is error
    assert world["a"].calls == ["send"]  # not retried, although retryable with budget left
    assert world["b"].calls == []  # not failed over
    assert world.sleeps == []
    assert info.value.attempts == (
        Attempt(
            provider="a",
            plugin="fake",
            error=cls.__name__,
            message="maybe placed",
            call_placed=placed,
        ),
    )


async def test_provider_unavailable_with_unknown_placement_is_never_retried(
    make_world: MakeWorld,
) -> None:
    world = make_world(retries=3)
    world["a"].fail(ProviderUnavailable("HTTP 502", call_placed=None))
    with pytest.raises(ProviderUnavailable) as info:
        await world.gateway.send(NOTE)
    assert info.value.call_placed is None
    assert world.total_calls() == 1


async def test_outcome_unknown_is_never_retried_or_failed_over(make_world: MakeWorld) -> None:
    world = make_world(retries=3)
    world["a"].fail(OutcomeUnknown("read timeout"))
    with pytest.raises(OutcomeUnknown):
        await world.gateway.send(NOTE)
    assert world.total_calls() == 1
    assert world.sleeps == []


@pytest.mark.parametrize("exc", [KeyError("callId"), TypeError("bad"), RuntimeError("bug")])
async def test_a_plugin_bug_becomes_a_provider_error_of_unknown_placement(
    make_world: MakeWorld, exc: Exception, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world(retries=3)
    world["a"].fail(exc)
    with (
        caplog.at_level(logging.ERROR, logger="voicegw.gateway"),
        pytest.raises(ProviderError) as info,
    ):
        await world.gateway.send(NOTE)
    error = info.value
    assert type(error) is ProviderError
    assert error.call_placed is None
    assert error.__cause__ is exc
    assert type(exc).__name__ in error.message
    assert (error.provider, error.plugin) == ("a", "fake")
    assert world.total_calls() == 1
    assert "raised outside the taxonomy" in caplog.text


async def test_errors_get_the_route_name_as_context(make_world: MakeWorld) -> None:
    world = make_world(retries=0, route=["a"])
    world["a"].fail(InsufficientFunds("low"))
    with pytest.raises(InsufficientFunds) as info:
        await world.gateway.send(NOTE)
    assert (info.value.provider, info.value.plugin) == ("a", "fake")


async def test_the_last_error_is_raised_when_every_hop_refuses(make_world: MakeWorld) -> None:
    world = make_world(retries=0)
    world["a"].fail(InsufficientFunds("low", code="-10"))
    world["b"].fail(InvalidRequest("bad", code="-22"))
    with pytest.raises(InvalidRequest) as info:
        await world.gateway.send(NOTE)
    assert [(a.provider, a.error, a.code, a.call_placed) for a in info.value.attempts] == [
        ("a", "InsufficientFunds", "-10", False),
        ("b", "InvalidRequest", "-22", False),
    ]


# -- retries ------------------------------------------------------------------------------------


async def test_a_retryable_error_is_retried_with_backoff(make_world: MakeWorld) -> None:
    world = make_world(retries=2, retry_backoff=0.5)
    world["a"].fail(RateLimited("slow"), ProviderUnavailable("busy"), None)
    receipt = await world.gateway.send(NOTE)
    assert receipt.provider == "a"
    assert world["a"].calls == ["send"] * 3
    assert world["b"].calls == []
    assert world.sleeps == [0.5, 1.0]
    assert [a.error for a in receipt.attempts] == ["RateLimited", "ProviderUnavailable", None]


@pytest.mark.parametrize("cls", [RateLimited, RequestExpired, ProviderUnavailable, TransportError])
async def test_retryable_classes_are_retried(make_world: MakeWorld, cls: type[VoiceError]) -> None:
    world = make_world(retries=1)
    world["a"].fail(cls("again"), None)
    assert (await world.gateway.send(NOTE)).provider == "a"
    assert len(world["a"].calls) == 2


@pytest.mark.parametrize("cls", [InsufficientFunds, InvalidRequest, NotFound, ProviderError])
async def test_non_retryable_errors_fail_over_at_once(
    make_world: MakeWorld, cls: type[VoiceError]
) -> None:
    world = make_world(retries=3)
    world["a"].fail(cls("no"))
    assert (await world.gateway.send(NOTE)).provider == "b"
    assert world["a"].calls == ["send"]
    assert world.sleeps == []


async def test_one_retry_budget_is_shared_by_every_hop(make_world: MakeWorld) -> None:
    world = make_world(
        {"a": {}, "b": {}, "c": {}}, retries=3, retry_backoff=0.5, max_retry_wait=100
    )
    for name in ("a", "b", "c"):
        world[name].fail(*[RateLimited(f"{name} slow") for _ in range(10)])
    with pytest.raises(RateLimited) as info:
        await world.gateway.send(NOTE)
    # 1 try per hop + 3 retries in all: a takes the whole budget, b and c get one try each.
    assert (len(world["a"].calls), len(world["b"].calls), len(world["c"].calls)) == (4, 1, 1)
    assert world.total_calls() == 3 + 3
    assert world.sleeps == [0.5, 1.0, 2.0]
    assert info.value.message == "c slow"
    assert [a.provider for a in info.value.attempts] == ["a"] * 4 + ["b", "c"]


async def test_the_budget_is_spread_across_hops(make_world: MakeWorld) -> None:
    world = make_world(retries=2)
    world["a"].fail(RateLimited("a1"), InsufficientFunds("a2"))
    world["b"].fail(RateLimited("b1"), RateLimited("b2"), None)
    with pytest.raises(RateLimited):
        await world.gateway.send(NOTE)
    assert (len(world["a"].calls), len(world["b"].calls)) == (2, 2)
    assert world.total_calls() == 2 + 2


async def test_each_send_has_its_own_budget(make_world: MakeWorld) -> None:
    world = make_world(retries=1, route=["a"])
    world["a"].fail(RateLimited("1"), None, RateLimited("2"), None)
    await world.gateway.send(NOTE)
    await world.gateway.send(NOTE)
    assert len(world["a"].calls) == 4


async def test_zero_retries_never_sleeps(make_world: MakeWorld) -> None:
    world = make_world(retries=0, route=["a"])
    world["a"].fail(RateLimited("slow"))
    with pytest.raises(RateLimited):
        await world.gateway.send(NOTE)
    assert world.sleeps == []


@pytest.mark.parametrize("retry_after", [0.0, 2.5, 7.0, 30.0])
async def test_retry_after_is_honoured(make_world: MakeWorld, retry_after: float) -> None:
    world = make_world(retries=1, retry_backoff=0.5, max_retry_wait=30)
    world["a"].fail(RateLimited("slow", retry_after=retry_after), None)
    receipt = await world.gateway.send(NOTE)
    assert receipt.provider == "a"
    assert world.sleeps == [retry_after]


async def test_a_wait_beyond_max_retry_wait_fails_over_without_sleeping(
    make_world: MakeWorld,
) -> None:
    world = make_world(retries=2, retry_backoff=0.5, max_retry_wait=30)
    world["a"].fail(RateLimited("come back in a minute", retry_after=60))
    world["b"].fail(RateLimited("b slow"), RateLimited("b slow"), None)
    receipt = await world.gateway.send(NOTE)
    assert receipt.provider == "b"
    assert world["a"].calls == ["send"]
    # a's refusal used none of the budget: b still had both retries.
    assert world.sleeps == [0.5, 1.0]


async def test_backoff_growing_beyond_max_retry_wait_fails_over(make_world: MakeWorld) -> None:
    world = make_world(retries=5, retry_backoff=20, max_retry_wait=30)
    world["a"].fail(*[ProviderUnavailable("down") for _ in range(5)])
    receipt = await world.gateway.send(NOTE)
    assert receipt.provider == "b"
    assert world.sleeps == [20]  # the next wait (40 s) is too long: fail over instead
    assert len(world["a"].calls) == 2


async def test_backoff_restarts_on_each_hop(make_world: MakeWorld) -> None:
    world = make_world(retries=4, retry_backoff=1, max_retry_wait=100)
    world["a"].fail(RateLimited("1"), RateLimited("2"), InsufficientFunds("x"))
    world["b"].fail(RateLimited("3"), None)
    await world.gateway.send(NOTE)
    assert world.sleeps == [1, 2, 1]


# -- cooldown ---------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AuthenticationError, PermissionDenied, ConfigurationError])
async def test_a_provider_cools_down_after_an_auth_or_config_error(
    make_world: MakeWorld, cls: type[VoiceError]
) -> None:
    world = make_world(retries=2, cooldown=60)
    world["a"].fail(cls("bad key", code="-1"))
    first = await world.gateway.send(NOTE)
    assert first.provider == "b"
    assert world.sleeps == []  # not retried on the same provider

    world.clock.now += 59.9
    second = await world.gateway.send(NOTE)
    assert second.provider == "b"
    assert world["a"].calls == ["send"]  # skipped, not asked
    skipped = second.attempts[0]
    assert (skipped.provider, skipped.error, skipped.call_placed) == (
        "a",
        "ProviderUnavailable",
        False,
    )
    assert skipped.message is not None
    assert "cooling down" in skipped.message

    world.clock.now += 0.1
    third = await world.gateway.send(NOTE)
    assert third.provider == "a"
    assert world["a"].calls == ["send", "send"]


@pytest.mark.parametrize("cls", [InsufficientFunds, RateLimited, InvalidRequest, NotFound])
async def test_other_errors_do_not_cool_down(make_world: MakeWorld, cls: type[VoiceError]) -> None:
    world = make_world(retries=0)
    world["a"].fail(cls("no"))
    assert (await world.gateway.send(NOTE)).provider == "b"
    assert (await world.gateway.send(NOTE)).provider == "a"


async def test_every_provider_cooling_raises_provider_unavailable(make_world: MakeWorld) -> None:
    world = make_world(retries=0, cooldown=60)
    world["a"].fail(AuthenticationError("a key"))
    world["b"].fail(PermissionDenied("b ip"))
    with pytest.raises(PermissionDenied):
        await world.gateway.send(NOTE)
    with pytest.raises(ProviderUnavailable, match="cooling down") as info:
        await world.gateway.send(NOTE)
    assert info.value.call_placed is False
    assert [a.provider for a in info.value.attempts] == ["a", "b"]
    assert world.total_calls() == 2


async def test_a_named_provider_that_is_cooling_is_not_asked(make_world: MakeWorld) -> None:
    world = make_world(retries=0)
    world["a"].fail(AuthenticationError("bad"))
    await world.gateway.send(NOTE)
    with pytest.raises(ProviderUnavailable, match="cooling down"):
        await world.gateway.send(NOTE, provider="a")
    assert world["a"].calls == ["send"]


# -- capabilities ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("notification", "needed"),
    [
        (NOTE, {Capability.SPEECH}),
        (VoiceNotification("+8613800000100", Template("t")), {Capability.TEMPLATE}),
        (
            VoiceNotification(
                "+8613800000100",
                [VerificationCode("1234"), Speech("hi")],
                collect=DigitCollection(),
            ),
            {Capability.VERIFICATION_CODE, Capability.SPEECH, Capability.COLLECT_DIGITS},
        ),
    ],
)
def test_required_capabilities(notification: VoiceNotification, needed: set[Capability]) -> None:
    assert required_capabilities(notification) == frozenset(needed)


async def test_an_incapable_provider_is_refused_before_sending(make_world: MakeWorld) -> None:
    world = make_world({"a": {"caps": ["speech"]}}, retries=3)
    with pytest.raises(UnsupportedFeature) as info:
        await world.gateway.send(VoiceNotification("+8613800000100", Template("welcome")))
    assert world["a"].calls == []
    assert info.value.call_placed is False
    assert "template" in info.value.message
    assert (info.value.provider, info.value.plugin) == ("a", "fake")
    assert [(a.provider, a.error) for a in info.value.attempts] == [("a", "UnsupportedFeature")]


async def test_an_incapable_hop_is_skipped(make_world: MakeWorld) -> None:
    world = make_world({"a": {"caps": ["speech"]}, "b": {}})
    note = VoiceNotification("+8613800000100", [Speech("hi")], collect=DigitCollection())
    receipt = await world.gateway.send(note)
    assert receipt.provider == "b"
    assert world["a"].calls == []
    skipped = receipt.attempts[0]
    assert (skipped.provider, skipped.error, skipped.call_placed, skipped.duration) == (
        "a",
        "UnsupportedFeature",
        False,
        0.0,
    )
    assert skipped.message is not None
    assert "collect_digits" in skipped.message


async def test_connect_needs_click_to_call(make_world: MakeWorld) -> None:
    world = make_world({"a": {"caps": ["speech"]}, "b": {}})
    receipt = await world.gateway.connect("+84912345678", "+8613800000100")
    assert receipt.provider == "b"
    assert world["a"].calls == []
    assert world["b"].calls == ["connect"]


# -- attempts -----------------------------------------------------------------------------------


async def test_the_receipt_lists_every_attempt(make_world: MakeWorld) -> None:
    world = make_world({"a": {"latency": 0.25}, "b": {"latency": 0.5}}, retries=1)
    world["a"].fail(
        RateLimited("slow", code="429", retry_after=1), AuthenticationError("key", code="-1")
    )
    receipt = await world.gateway.send(NOTE)
    assert receipt.attempts == (
        Attempt(
            provider="a",
            plugin="fake",
            error="RateLimited",
            code="429",
            message="slow",
            call_placed=False,
            duration=0.25,
        ),
        Attempt(
            provider="a",
            plugin="fake",
            error="AuthenticationError",
            code="-1",
            message="key",
            call_placed=False,
            duration=0.25,
        ),
        Attempt(provider="b", plugin="fake", duration=0.5),
    )
    assert receipt.reference == "r-1"


async def test_a_plain_success_has_one_attempt(make_world: MakeWorld) -> None:
    world = make_world()
    receipt = await world.gateway.send(NOTE)
    assert receipt.attempts == (Attempt(provider="a", plugin="fake"),)
    assert receipt.attempts[0].call_placed is True


# -- per-provider rate limit ------------------------------------------------------------------


async def test_rate_limit_spaces_requests(make_world: MakeWorld) -> None:
    rate = 20
    world = make_world({"a": {"rate_limit": rate}})
    for _ in range(rate + 10):
        await world.gateway.send(NOTE)
    times = world["a"].wall_times
    start = times[0]
    # A leaky bucket of `rate` per second: a burst of `rate`, then one every 1/rate seconds.
    assert sum(1 for t in times if t - start < 0.8 / rate) <= rate
    assert times[-1] - start >= 0.8 * 10 / rate


async def test_a_fractional_rate_limit_allows_one_request_per_period(
    make_world: MakeWorld,
) -> None:
    world = make_world({"a": {"rate_limit": 0.8}})
    await world.gateway.send(NOTE)
    await world.gateway.send(NOTE)
    first, second = world["a"].wall_times
    assert second - first >= 0.9 * (1 / 0.8)


async def test_without_a_rate_limit_requests_are_not_held(make_world: MakeWorld) -> None:
    world = make_world({"a": {}, "b": {"rate_limit": 1}})
    for _ in range(5):
        await world.gateway.send(NOTE)
    times = world["a"].wall_times
    assert times[-1] - times[0] < 0.5


async def test_rate_limit_also_holds_other_requests(make_world: MakeWorld) -> None:
    world = make_world({"a": {"rate_limit": 1}})
    await world.gateway.send(NOTE)
    await world.gateway.get_record("a-1")
    first, second = world["a"].wall_times
    assert second - first >= 0.8


# -- the rest of the gateway API ------------------------------------------------------------


async def test_from_config_and_lookups(registry: PluginRegistry) -> None:
    gateway = VoiceGateway.from_config(
        {"providers": {"b": {"plugin": "fake"}, "a": {"plugin": "sandbox"}}}, registry=registry
    )
    async with gateway:
        assert list(gateway.providers) == ["b", "a"]
        assert gateway.provider("a").plugin == "sandbox"
        with pytest.raises(
            ConfigurationError, match="no provider 'zz' is configured; configured: b, a"
        ):
            gateway.provider("zz")


async def test_from_config_without_configuration_uses_the_sandbox(registry: PluginRegistry) -> None:
    async with VoiceGateway.from_config(registry=registry) as gateway:
        assert list(gateway.providers) == ["sandbox"]
        receipt = await gateway.send(NOTE)
        assert receipt.plugin == "sandbox"


def test_a_factory_error_is_a_configuration_error(registry: PluginRegistry) -> None:
    config = load_config(
        {"providers": {"x": {"plugin": "fake", "base_url": "explode"}}}, registry=registry
    )
    with pytest.raises(ConfigurationError) as info:
        VoiceGateway(config, registry=registry)
    assert str(info.value) == "providers.x: base_url must be a URL"


def test_a_config_for_a_plugin_this_registry_lacks(registry: PluginRegistry) -> None:
    config = load_config({"providers": {"x": {"plugin": "fake"}}}, registry=registry)
    with pytest.raises(ConfigurationError, match="providers.x.plugin: unknown plugin 'fake'"):
        VoiceGateway(config, registry=PluginRegistry(entry_points=False))


async def test_an_empty_route_is_a_configuration_error(registry: PluginRegistry) -> None:
    gateway = VoiceGateway(Config(), registry=registry)
    with pytest.raises(ConfigurationError, match="route is empty"):
        await gateway.send(NOTE)


async def test_send_takes_only_notifications(make_world: MakeWorld) -> None:
    world = make_world()
    with pytest.raises(ValidationError, match="takes a VoiceNotification, got dict"):
        await world.gateway.send({"to": "+8613800000100"})  # type: ignore[arg-type]
    assert world.total_calls() == 0


async def test_send_to_a_named_provider(make_world: MakeWorld) -> None:
    world = make_world(retries=0)
    world["b"].fail(InsufficientFunds("low"))
    with pytest.raises(InsufficientFunds):
        await world.gateway.send(NOTE, provider="b")
    assert world["a"].calls == []
    with pytest.raises(ConfigurationError, match="no provider 'zz'"):
        await world.gateway.send(NOTE, provider="zz")


async def test_accepted_sends_are_stored(make_world: MakeWorld) -> None:
    store = MemoryStore()
    world = make_world(store=store)
    async with world.gateway:
        receipt = await world.gateway.send(NOTE)
        record = await store.get_record("a", receipt.call_id)
        assert record is not None
        assert (record.status, record.to, record.reference) == (
            CallStatus.QUEUED,
            "+8613800000100",
            "r-1",
        )
        assert record.submitted_at == NOW


async def test_connect_builds_the_request(make_world: MakeWorld) -> None:
    store = MemoryStore()
    world = make_world(store=store)
    receipt = await world.gateway.connect(
        "+84912345678", "+8613800000100", record=True, reference="c-1"
    )
    assert receipt.reference == "c-1"
    stored = await store.get_record("a", receipt.call_id)
    assert stored is not None
    assert stored.to == "+8613800000100"
    request = ClickToCall(caller="+84912345678", callee="+8613800000100")
    assert (await world.gateway.connect(request, provider="b")).provider == "b"
    with pytest.raises(ValidationError, match="needs both caller and callee"):
        await world.gateway.connect("+84912345678")


async def test_get_record_asks_a_queryable_provider_and_stores_it(make_world: MakeWorld) -> None:
    store = MemoryStore()
    world = make_world(store=store)
    receipt = await world.gateway.send(NOTE)
    record = await world.gateway.get_record(receipt)
    assert record.status is CallStatus.COMPLETED
    assert world["a"].calls[-1] == f"get_record {receipt.call_id}"
    stored = await store.get_record("a", receipt.call_id)
    assert stored is not None
    assert stored.status is CallStatus.COMPLETED


async def test_get_record_by_id(make_world: MakeWorld) -> None:
    world = make_world({"only": {}})
    assert (await world.gateway.get_record("c9")).call_id == "c9"
    two = make_world()
    with pytest.raises(ValidationError, match="ambiguous"):
        await two.gateway.get_record("c9")
    assert (await two.gateway.get_record("c9", provider="b")).provider == "b"
    with pytest.raises(ConfigurationError):
        await two.gateway.get_record("c9", provider="zz")


async def test_get_record_of_a_push_only_provider_reads_the_store(make_world: MakeWorld) -> None:
    store = MemoryStore()
    world = make_world({"a": {"caps": ["speech"]}}, store=store)
    receipt = await world.gateway.send(NOTE)
    record = await world.gateway.get_record(receipt)
    assert record.status is CallStatus.QUEUED
    assert not any(c.startswith("get_record") for c in world["a"].calls)
    with pytest.raises(NotFound, match="only pushes its records"):
        await world.gateway.get_record("unknown-id")


async def test_get_record_of_a_push_only_provider_without_a_store(make_world: MakeWorld) -> None:
    world = make_world({"a": {"caps": ["speech"]}})
    with pytest.raises(NotFound) as info:
        await world.gateway.get_record("c1")
    assert (info.value.provider, info.value.plugin) == ("a", "fake")


async def test_hangup(make_world: MakeWorld) -> None:
    world = make_world({"a": {}, "mute": {"caps": ["speech"]}})
    receipt = await world.gateway.send(NOTE)
    await world.gateway.hangup(receipt)
    assert world["a"].calls[-1] == f"hangup {receipt.call_id}"
    with pytest.raises(UnsupportedFeature, match="cannot hang up"):
        await world.gateway.hangup("c1", provider="mute")


async def test_upload_audio_goes_to_the_first_provider_that_holds_audio(
    make_world: MakeWorld,
) -> None:
    world = make_world({"a": {"caps": ["speech"]}, "b": {}})
    upload = AudioUpload(data=b"RIFF", filename="a.wav")
    audio = await world.gateway.upload_audio(upload)
    assert audio.provider == "b"
    with pytest.raises(UnsupportedFeature, match="no provider in the route can hold"):
        await world.gateway.upload_audio(upload, provider="a")


def test_parse_webhook_goes_to_the_named_provider(make_world: MakeWorld) -> None:
    world = make_world()
    events = world.gateway.parse_webhook("b", "status", {}, b"c7", "http://h/hooks/b/status")
    assert events[0].call_id == "c7"
    assert world["b"].calls == ["parse_webhook status"]


async def test_aclose_closes_every_provider_and_survives_failures(
    make_world: MakeWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world = make_world()
    world["a"].close_error = RuntimeError("socket trouble")
    with caplog.at_level(logging.WARNING, logger="voicegw.gateway"):
        async with world.gateway:
            pass
    assert world["a"].closed
    assert world["b"].closed
    assert "closing a provider failed" in caplog.text


async def test_the_store_is_opened_and_closed() -> None:
    class RecordingStore(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.log: list[str] = []

        async def open(self) -> None:
            self.log.append("open")

        async def close(self) -> None:
            self.log.append("close")

    store = RecordingStore()
    registry = PluginRegistry(entry_points=False)
    registry.register(voicegw.sandbox)
    async with VoiceGateway.from_config(registry=registry, store=store):
        assert store.log == ["open"]
    assert store.log == ["open", "close"]
