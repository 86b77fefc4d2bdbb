"""What a provider is: the :class:`VoiceProvider` protocol, its capabilities and its plugin.

A plugin hands voicegw a :class:`ProviderPlugin` — a name, a settings class, a factory that
builds the provider from settings, the capabilities, and optionally an emulator. Provider
objects do the async work; :class:`BaseProvider` gives them the shared parts (settings,
capability checks, "unsupported" defaults) so a new provider fills in only what it can do.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeGuard, TypeVar, runtime_checkable

import attrs

from voicegw.errors import UnsupportedFeature, ValidationError, VoiceError
from voicegw.models import (
    AudioFile,
    AudioUpload,
    CallEvent,
    CallRecord,
    ClickToCall,
    SendReceipt,
    VoiceNotification,
    compact_number,
    normalize_e164,
)

if TYPE_CHECKING:
    import aiohttp

    from voicegw.codes import CodeTable
    from voicegw.http import ProviderHttp
    from voicegw.testing.emulator import Emulator

__all__ = [
    "PLUGIN_API_VERSION",
    "BaseProvider",
    "Capability",
    "HttpProvider",
    "ProviderPlugin",
    "ProviderSettings",
    "SplitWebhooks",
    "VoiceProvider",
    "WebhookReply",
    "splits_webhooks",
]

#: The plugin API this core speaks. A plugin declares the version it was written for; one
#: with a different major version is refused at load time (listed as unavailable).
PLUGIN_API_VERSION = 1

T = TypeVar("T")


class Capability(enum.StrEnum):
    """What a provider can do. The gateway refuses early with ``UnsupportedFeature``."""

    SPEECH = "speech"
    TEMPLATE = "template"
    AUDIO = "audio"
    VERIFICATION_CODE = "verification_code"
    COLLECT_DIGITS = "collect_digits"
    HANGUP = "hangup"
    CLICK_TO_CALL = "click_to_call"
    RECORD_QUERY = "record_query"
    RECORD_SEARCH = "record_search"
    STATUS_PUSH = "status_push"
    RECORD_PUSH = "record_push"
    AUDIO_UPLOAD = "audio_upload"


def _optional_caller_id(
    instance: object, attribute: attrs.Attribute[Any], value: str | None
) -> None:
    if value is not None:
        normalize_e164(value, field=attribute.name)


def _positive_number(
    instance: object, attribute: attrs.Attribute[Any], value: float | None
) -> None:
    if value is not None and (isinstance(value, bool) or value <= 0):
        raise ValidationError(f"{attribute.name} must be a number > 0, got {value!r}")


@attrs.frozen(kw_only=True)
class ProviderSettings:
    """Settings every provider takes. Plugins subclass this with their own fields.

    Mark every secret ``attrs.field(repr=False)`` so it never shows in a repr or a log.
    """

    plugin: str
    base_url: str = ""
    timeout: float = attrs.field(default=30.0, validator=_positive_number)
    rate_limit: float | None = attrs.field(default=None, validator=_positive_number)
    caller_id: str | None = attrs.field(
        default=None, converter=compact_number, validator=_optional_caller_id
    )


@attrs.frozen
class WebhookReply:
    """What the receiver answers a provider's push: status, body and content type."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"


@runtime_checkable
class VoiceProvider(Protocol):
    """The contract every provider object meets. See :class:`BaseProvider` for defaults."""

    name: str
    plugin: str
    capabilities: frozenset[Capability]

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        """Place one call. Raises a ``VoiceError`` when the provider did not take it."""
        ...

    async def connect(self, request: ClickToCall) -> SendReceipt:
        """Place a two-leg click-to-call."""
        ...

    async def get_record(self, call_id: str) -> CallRecord:
        """The provider's current record of the call."""
        ...

    def iter_records(self, start: datetime, end: datetime) -> AsyncIterator[CallRecord]:
        """Records of calls submitted in ``[start, end)``, for reconciliation."""
        ...

    async def hangup(self, call_id: str) -> None:
        """End a call in progress."""
        ...

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        """Hand the provider an audio file to hold (and review)."""
        ...

    def parse_webhook(
        self, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> list[CallEvent]:
        """Verify a push and turn it into events. Raises ``VoiceError`` for a bad push."""
        ...

    def webhook_reply(self, kind: str, *, accepted: bool) -> WebhookReply:
        """The answer the provider expects once a push is stored (or could not be)."""
        ...

    async def aclose(self) -> None:
        """Release network resources."""
        ...


class BaseProvider:
    """Shared parts of a provider: settings, capability checks and "unsupported" defaults.

    Subclasses set ``plugin_name`` and ``capabilities`` and override what they can do.
    """

    plugin_name: ClassVar[str] = ""
    capabilities: frozenset[Capability] = frozenset()
    #: Push kinds this provider sends (routes of the webhook receiver).
    webhook_kinds: frozenset[str] = frozenset()

    def __init__(self, name: str, settings: ProviderSettings) -> None:
        self.name = name
        self.plugin = self.plugin_name or settings.plugin
        self.settings = settings

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} plugin={self.plugin!r}>"

    def unsupported(self, what: str) -> UnsupportedFeature:
        """The error for something this provider cannot do."""
        return UnsupportedFeature(
            f"{self.plugin} cannot {what}", provider=self.name, plugin=self.plugin
        )

    def local(self, step: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a pure pipeline step (validate, build the wire request), naming this provider
        on the ``VoiceError`` it raises."""
        try:
            return step(*args, **kwargs)
        except VoiceError as exc:
            exc.with_context(provider=self.name, plugin=self.plugin)
            raise

    def require(self, capability: Capability, what: str | None = None) -> None:
        """Raise ``UnsupportedFeature`` unless the provider has ``capability``."""
        if capability not in self.capabilities:
            raise self.unsupported(what or capability.value.replace("_", " "))

    async def send(self, notification: VoiceNotification) -> SendReceipt:
        raise self.unsupported("send voice notifications")

    async def connect(self, request: ClickToCall) -> SendReceipt:
        raise self.unsupported("place click-to-call calls")

    async def get_record(self, call_id: str) -> CallRecord:
        raise self.unsupported("be queried for records (its records arrive by push)")

    def iter_records(self, start: datetime, end: datetime) -> AsyncIterator[CallRecord]:
        raise self.unsupported("list records by time range")

    async def hangup(self, call_id: str) -> None:
        raise self.unsupported("hang up calls")

    async def upload_audio(self, upload: AudioUpload) -> AudioFile:
        raise self.unsupported("hold uploaded audio")

    def verify_webhook(self, kind: str, headers: Mapping[str, str], body: bytes, url: str) -> None:
        """Check that a push is genuine — its signature or token — without parsing it.

        Raises ``AuthenticationError`` (or ``PermissionDenied``) for a forged or unsigned
        push and ``UnsupportedFeature`` for a kind this provider does not send. A provider
        that overrides this *and* :meth:`read_webhook` gets store-first ingestion: the
        receiver stores a verified push before it is parsed (see :func:`splits_webhooks`).
        """
        raise self.unsupported(f"send {kind!r} pushes")

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]:
        """Turn a push that :meth:`verify_webhook` accepted into events.

        Raises a ``VoiceError`` for a push it cannot read. It must not depend on anything
        but ``kind`` and ``body``: the receiver may call it later, after a restart.
        """
        raise self.unsupported(f"send {kind!r} pushes")

    def parse_webhook(
        self, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> list[CallEvent]:
        """Verify a push, then read it: :meth:`verify_webhook` and :meth:`read_webhook`."""
        self.verify_webhook(kind, headers, body, url)
        return self.read_webhook(kind, body)

    def webhook_reply(self, kind: str, *, accepted: bool) -> WebhookReply:
        if accepted:
            return WebhookReply(200, b"OK")
        return WebhookReply(503, b"not stored, please retry")

    async def aclose(self) -> None:
        return None


class SplitWebhooks(VoiceProvider, Protocol):
    """A provider that verifies a push apart from reading it (see :func:`splits_webhooks`)."""

    def verify_webhook(
        self, kind: str, headers: Mapping[str, str], body: bytes, url: str
    ) -> None: ...

    def read_webhook(self, kind: str, body: bytes) -> list[CallEvent]: ...


def splits_webhooks(provider: object) -> TypeGuard[SplitWebhooks]:
    """Whether ``provider`` verifies a push apart from reading it.

    True when its class overrides both :meth:`BaseProvider.verify_webhook` and
    :meth:`BaseProvider.read_webhook`: the receiver can then store a verified push and
    acknowledge it before parsing. Providers that only implement ``parse_webhook`` (plugin
    API 1 allows it) are verified, parsed and stored in one step instead.
    """
    cls = type(provider)
    return all(
        callable(getattr(cls, method, None))
        and getattr(cls, method) is not getattr(BaseProvider, method)
        for method in ("verify_webhook", "read_webhook")
    )


def _capability_set(values: Iterable[Capability | str]) -> frozenset[Capability]:
    return frozenset(Capability(value) for value in values)


class HttpProvider(BaseProvider):
    """A provider that speaks HTTP: owns one :class:`~voicegw.http.ProviderHttp` built from its
    settings (``base_url``, ``timeout``) and closes it in :meth:`aclose`.

    Pass ``session`` to share an ``aiohttp.ClientSession`` (it is then not closed here).
    """

    def __init__(
        self,
        name: str,
        settings: ProviderSettings,
        *,
        session: aiohttp.ClientSession | None = None,
    ) -> None:
        # imported here, not at the top: ``import voicegw`` must not pay for aiohttp
        from voicegw.http import ProviderHttp

        super().__init__(name, settings)
        self.http: ProviderHttp = ProviderHttp(
            provider=name,
            plugin=self.plugin,
            base_url=settings.base_url,
            timeout=settings.timeout,
            session=session,
        )

    async def aclose(self) -> None:
        """Close the HTTP session (if this provider created it)."""
        await self.http.aclose()


ProviderFactory = Callable[[str, Any], VoiceProvider]


@attrs.frozen(kw_only=True)
class ProviderPlugin:
    """A provider as a plugin registers it with ``registry.add(...)``.

    ``factory(name, settings)`` builds the provider object from the structured settings.
    ``emulator(**options)`` builds the fake of the provider's HTTP API, if the plugin ships one.
    """

    name: str
    settings_type: type[ProviderSettings]
    factory: ProviderFactory
    capabilities: frozenset[Capability] = attrs.field(converter=_capability_set)
    emulator: Callable[..., Emulator] | None = None
    codes: Mapping[str, CodeTable] = attrs.field(factory=dict)
    description: str = ""
    api_version: int = PLUGIN_API_VERSION
