"""The gateway: one object to place calls through the configured providers.

::

    async with VoiceGateway.from_config("voicegw.toml") as gateway:
        receipt = await gateway.send(VoiceNotification("+84912345678", [Speech("Hi", "en")]))
        record = await gateway.get_record(receipt)

Routing rules for :meth:`VoiceGateway.send`:

* providers are tried in ``gateway.route`` order (or just the one named);
* a send moves on — retried or failed over — **only** when the error says the call was
  certainly not placed (``call_placed is False``); anything ambiguous is raised at once;
* a retryable error is retried on the same provider while the budget of ``gateway.retries``
  extra tries (one budget per logical send, across all hops) lasts, waiting the provider's
  retry-after or an exponential backoff; waits longer than ``max_retry_wait`` fail over;
* a provider that answered with an authentication or permission error cools down for
  ``gateway.cooldown`` seconds and is skipped meanwhile;
* capabilities are checked before anything is sent;
* the receipt (or the final error's ``attempts``) lists every attempt.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import attrs
from aiolimiter import AsyncLimiter

from voicegw.config import Config, load_config
from voicegw.errors import (
    AuthenticationError,
    ConfigurationError,
    NotFound,
    PermissionDenied,
    ProviderError,
    ProviderUnavailable,
    UnsupportedFeature,
    ValidationError,
    VoiceError,
)
from voicegw.models import (
    Attempt,
    Audio,
    AudioFile,
    AudioUpload,
    CallEvent,
    CallRecord,
    ClickToCall,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw.plugins import PluginRegistry, default_registry
from voicegw.provider import Capability, VoiceProvider
from voicegw.store import RecordStore

__all__ = ["VoiceGateway", "required_capabilities"]

logger = logging.getLogger("voicegw.gateway")

T = TypeVar("T")

_PROMPT_CAPABILITY: dict[type, Capability] = {
    Speech: Capability.SPEECH,
    Template: Capability.TEMPLATE,
    Audio: Capability.AUDIO,
    VerificationCode: Capability.VERIFICATION_CODE,
}

_COOLING_ERRORS = (AuthenticationError, PermissionDenied, ConfigurationError)


_ONE_PROMPT: dict[type, frozenset[Capability]] = {
    kind: frozenset({capability}) for kind, capability in _PROMPT_CAPABILITY.items()
}


def required_capabilities(notification: VoiceNotification) -> frozenset[Capability]:
    """The capabilities a provider needs to place ``notification``."""
    prompts = notification.prompts
    if len(prompts) == 1 and notification.collect is None:
        return _ONE_PROMPT[type(prompts[0])]
    needed = {_PROMPT_CAPABILITY[type(prompt)] for prompt in notification.prompts}
    if notification.collect is not None:
        needed.add(Capability.COLLECT_DIGITS)
    return frozenset(needed)


class VoiceGateway:
    """Routes calls to providers built from a :class:`~voicegw.config.Config`.

    Use it as an async context manager, or call :meth:`aclose` yourself.
    ``store`` keeps accepted calls and pushed events; ``get_record`` falls back to it for
    providers that cannot be queried.
    """

    def __init__(
        self,
        config: Config,
        *,
        registry: PluginRegistry | None = None,
        store: RecordStore | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.registry = registry or default_registry()
        self.store = store
        self._sleep = sleep
        self._clock = clock
        self._providers: dict[str, VoiceProvider] = {}
        self._limiters: dict[str, AsyncLimiter] = {}
        self._cooling_until: dict[str, float] = {}
        for name, settings in config.providers.items():
            plugin = self.registry.get(settings.plugin, key=f"providers.{name}.plugin")
            try:
                self._providers[name] = plugin.factory(name, settings)
            except VoiceError as exc:
                raise ConfigurationError(f"providers.{name}: {exc.message}") from None
            if settings.rate_limit:
                rate = settings.rate_limit
                self._limiters[name] = (
                    AsyncLimiter(rate, 1.0) if rate >= 1 else AsyncLimiter(1, 1.0 / rate)
                )

    @classmethod
    def from_config(
        cls,
        source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
        *,
        registry: PluginRegistry | None = None,
        store: RecordStore | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> VoiceGateway:
        """Build a gateway from a TOML file, a mapping, or nothing (the sandbox)."""
        registry = registry or default_registry()
        config = load_config(source, registry=registry, environ=environ)
        return cls(config, registry=registry, store=store)

    async def __aenter__(self) -> VoiceGateway:
        if self.store is not None:
            await self.store.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every provider's network resources and the store."""
        results = await asyncio.gather(
            *(provider.aclose() for provider in self._providers.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                logger.warning("closing a provider failed: %r", result)
        if self.store is not None:
            await self.store.close()

    # -- providers -----------------------------------------------------------------------

    @property
    def providers(self) -> dict[str, VoiceProvider]:
        """Configured providers by name, in configuration order."""
        return dict(self._providers)

    def provider(self, name: str) -> VoiceProvider:
        """The configured provider object called ``name``."""
        try:
            return self._providers[name]
        except KeyError:
            configured = ", ".join(self._providers) or "none"
            raise ConfigurationError(
                f"no provider {name!r} is configured; configured: {configured}"
            ) from None

    def _route(self, provider: str | None) -> tuple[str, ...]:
        if provider is not None:
            self.provider(provider)
            return (provider,)
        return self.config.gateway.route

    async def _limited(self, name: str, call: Callable[[], Awaitable[T]]) -> T:
        limiter = self._limiters.get(name)
        if limiter is not None:
            await limiter.acquire()  # all that ``async with limiter`` does
        return await call()

    # -- sending -------------------------------------------------------------------------

    async def send(
        self, notification: VoiceNotification, provider: str | None = None
    ) -> SendReceipt:
        """Place ``notification`` through ``provider`` or along the configured route."""
        if not isinstance(notification, VoiceNotification):
            raise ValidationError(
                f"send() takes a VoiceNotification, got {type(notification).__name__}"
            )
        needed = required_capabilities(notification)
        receipt = await self._route_call(
            self._route(provider), needed, lambda p: p.send(notification), notification.reference
        )
        if self.store is not None:
            await self._remember(receipt, notification.to)
        return receipt

    async def connect(
        self,
        caller: str | ClickToCall,
        callee: str | None = None,
        *,
        provider: str | None = None,
        **options: Any,
    ) -> SendReceipt:
        """Place a click-to-call: ring ``caller`` first, then bridge them to ``callee``.

        Takes a :class:`ClickToCall`, or the two numbers and its keyword fields.
        """
        if isinstance(caller, ClickToCall):
            request = caller
        else:
            if callee is None:
                raise ValidationError("connect() needs both caller and callee")
            request = ClickToCall(caller=caller, callee=callee, **options)
        receipt = await self._route_call(
            self._route(provider),
            frozenset({Capability.CLICK_TO_CALL}),
            lambda p: p.connect(request),
            request.reference,
        )
        await self._remember(receipt, request.callee)
        return receipt

    async def _remember(self, receipt: SendReceipt, to: str) -> None:
        """Store an accepted call; a store failure must not turn a placed call into an error.

        The provider has the call: raising now would invite the caller to send it again. The
        record still arrives later by push or query, and merges in then.
        """
        if self.store is None:
            return
        try:
            await self.store.save_receipt(receipt, to=to)
        except Exception:
            logger.exception(
                "call %s accepted by %r but not stored; its record will merge in later",
                receipt.call_id,
                receipt.provider,
            )

    async def _route_call(
        self,
        route: tuple[str, ...],
        needed: frozenset[Capability],
        call: Callable[[VoiceProvider], Awaitable[SendReceipt]],
        reference: str | None,
    ) -> SendReceipt:
        settings = self.config.gateway
        budget = settings.retries
        attempts: list[Attempt] = []
        last_error: VoiceError | None = None
        for name in route:
            provider = self._providers[name]
            if not needed <= provider.capabilities:
                missing = needed - provider.capabilities
                last_error = UnsupportedFeature(
                    f"{provider.plugin} cannot do " + ", ".join(sorted(m.value for m in missing)),
                    provider=name,
                    plugin=provider.plugin,
                )
                attempts.append(_attempt(name, provider.plugin, last_error, 0.0))
                continue
            if self._cooling_until and self._cooling(name):
                last_error = ProviderUnavailable(
                    "cooling down after an authentication or permission error",
                    provider=name,
                    plugin=provider.plugin,
                    call_placed=False,
                )
                attempts.append(_attempt(name, provider.plugin, last_error, 0.0))
                continue
            limiter = self._limiters.get(name)
            tries = 0
            while True:
                started = self._clock()
                try:
                    if limiter is not None:
                        await limiter.acquire()  # all that ``async with limiter`` does
                    receipt = await call(provider)
                except VoiceError as exc:
                    error = exc.with_context(provider=name, plugin=provider.plugin)
                except Exception as exc:  # a plugin bug must not escape the taxonomy
                    logger.exception("provider %r raised outside the taxonomy", name)
                    error = ProviderError(
                        f"the {provider.plugin} plugin failed: {type(exc).__name__}: {exc}",
                        provider=name,
                        plugin=provider.plugin,
                        call_placed=None,
                    )
                    error.__cause__ = exc
                else:
                    attempts.append(
                        Attempt(
                            provider=name,
                            plugin=provider.plugin,
                            duration=self._clock() - started,
                        )
                    )
                    return _with_attempts(receipt, tuple(attempts), receipt.reference or reference)
                attempts.append(_attempt(name, provider.plugin, error, self._clock() - started))
                last_error = error
                if error.call_placed is not False:
                    # The call may exist: never try again, anywhere.
                    error.attempts = tuple(attempts)
                    raise error
                if isinstance(error, _COOLING_ERRORS):
                    self._cooling_until[name] = self._clock() + settings.cooldown
                    logger.warning("provider %r cools down: %s", name, error)
                    break
                if not error.retryable or budget <= 0:
                    break
                wait = (
                    error.retry_after
                    if error.retry_after is not None
                    else settings.retry_backoff * (2**tries)
                )
                if wait > settings.max_retry_wait:
                    break
                budget -= 1
                tries += 1
                logger.info("retrying %r in %.2fs after %s", name, wait, type(error).__name__)
                await self._sleep(wait)
        if last_error is None:
            raise ConfigurationError("the route is empty: configure at least one provider")
        last_error.attempts = tuple(attempts)
        raise last_error

    def _cooling(self, name: str) -> bool:
        until = self._cooling_until.get(name)
        if until is None:
            return False
        if self._clock() >= until:
            del self._cooling_until[name]
            return False
        return True

    # -- after the send ------------------------------------------------------------------

    def _resolve(self, receipt_or_id: SendReceipt | str, provider: str | None) -> tuple[str, str]:
        if isinstance(receipt_or_id, SendReceipt):
            return receipt_or_id.provider, receipt_or_id.call_id
        if provider is not None:
            self.provider(provider)
            return provider, receipt_or_id
        if len(self._providers) == 1:
            return next(iter(self._providers)), receipt_or_id
        raise ValidationError(
            "a bare call id is ambiguous with several providers configured: pass the receipt "
            "or provider="
        )

    async def get_record(
        self, receipt_or_id: SendReceipt | str, *, provider: str | None = None
    ) -> CallRecord:
        """The call's record: from the provider if it can be queried, else from the store."""
        name, call_id = self._resolve(receipt_or_id, provider)
        target = self.provider(name)
        if Capability.RECORD_QUERY in target.capabilities:
            record = await self._limited(name, lambda: target.get_record(call_id))
            if self.store is not None:
                await self.store.save_events(
                    [CallEvent(kind="record", call_id=call_id, provider=name, record=record)],
                    plugin=target.plugin,
                )
            return record
        if self.store is not None:
            stored = await self.store.get_record(name, call_id)
            if stored is not None:
                return stored
        raise NotFound(
            f"no record of {call_id!r} yet: {target.plugin} only pushes its records, and none "
            "has reached the store",
            provider=name,
            plugin=target.plugin,
        )

    async def hangup(
        self, receipt_or_id: SendReceipt | str, *, provider: str | None = None
    ) -> None:
        """End a call in progress."""
        name, call_id = self._resolve(receipt_or_id, provider)
        target = self.provider(name)
        if Capability.HANGUP not in target.capabilities:
            raise UnsupportedFeature(
                f"{target.plugin} cannot hang up calls", provider=name, plugin=target.plugin
            )
        await self._limited(name, lambda: target.hangup(call_id))

    async def upload_audio(self, upload: AudioUpload, *, provider: str | None = None) -> AudioFile:
        """Hand audio to a provider that holds files (the first in the route that can)."""
        names = self._route(provider)
        for name in names:
            target = self._providers[name]
            if Capability.AUDIO_UPLOAD in target.capabilities:
                return await self._limited(name, lambda t=target: t.upload_audio(upload))  # type: ignore[misc]
        raise UnsupportedFeature(
            "no provider in the route can hold uploaded audio: " + ", ".join(names)
        )

    def parse_webhook(
        self, provider: str, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> list[CallEvent]:
        """Verify and parse a push addressed to ``provider``."""
        return self.provider(provider).parse_webhook(kind, headers, body, url)


def _with_attempts(
    receipt: SendReceipt, attempts: tuple[Attempt, ...], reference: str | None
) -> SendReceipt:
    """``attrs.evolve(receipt, attempts=…, reference=…)``, without evolve's walk over the
    fields for the plain class (``tests/integration/test_send_fast_paths.py`` keeps the field
    list here in step with the class)."""
    if type(receipt) is not SendReceipt:
        return attrs.evolve(receipt, attempts=attempts, reference=reference)
    return SendReceipt(
        call_id=receipt.call_id,
        provider=receipt.provider,
        plugin=receipt.plugin,
        accepted_at=receipt.accepted_at,
        reference=reference,
        raw=receipt.raw,
        attempts=attempts,
    )


def _attempt(name: str, plugin: str, error: VoiceError, duration: float) -> Attempt:
    return Attempt(
        provider=name,
        plugin=plugin,
        error=type(error).__name__,
        code=error.code,
        message=error.message,
        call_placed=error.call_placed,
        duration=duration,
    )
