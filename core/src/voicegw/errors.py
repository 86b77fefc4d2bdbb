"""The exception taxonomy: the only exceptions the public API raises.

Every exception is a :class:`VoiceError` carrying ``provider``, ``plugin``, ``code`` (the
provider's own code, as a string), ``message``, ``retryable`` and ``call_placed``:

* ``call_placed is False`` — the provider certainly did not place the call. Only such errors
  may be retried or failed over to another provider.
* ``call_placed is None`` — nobody knows (a read timeout after the request was written). Such
  a send is never retried and never failed over: calling someone twice is worse than once.

Business outcomes of a call — busy, no answer, rejected, invalid number — are never
exceptions: they are the record's ``status`` and ``hangup``.

::

    VoiceError
    ├── ConfigurationError
    ├── ValidationError
    │   └── UnsupportedFeature
    ├── ProviderError
    │   ├── AuthenticationError
    │   ├── PermissionDenied
    │   ├── InsufficientFunds
    │   ├── RequestExpired
    │   ├── InvalidRequest
    │   ├── RateLimited
    │   ├── NotFound
    │   └── ProviderUnavailable
    ├── TransportError
    │   └── OutcomeUnknown
    └── StoreError
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from voicegw.models import Attempt

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "InsufficientFunds",
    "InvalidRequest",
    "NotFound",
    "OutcomeUnknown",
    "PermissionDenied",
    "ProviderError",
    "ProviderUnavailable",
    "RateLimited",
    "RequestExpired",
    "StoreError",
    "TransportError",
    "UnsupportedFeature",
    "ValidationError",
    "VoiceError",
]

_UNSET: object = object()


class VoiceError(Exception):
    """Base of every error voicegw raises.

    Class attributes give each kind its defaults; an instance may override ``retryable`` and
    ``call_placed`` where it knows better (a 5xx without a body, say).
    """

    default_retryable: ClassVar[bool] = False
    default_call_placed: ClassVar[bool | None] = False

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        plugin: str | None = None,
        code: str | None = None,
        retryable: bool | None = None,
        call_placed: bool | object | None = _UNSET,
        retry_after: float | None = None,
        attempts: Sequence[Attempt] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.provider = provider
        self.plugin = plugin
        self.code = None if code is None else str(code)
        self.retryable = self.default_retryable if retryable is None else retryable
        self.call_placed: bool | None = (
            self.default_call_placed if call_placed is _UNSET else call_placed  # type: ignore[assignment]
        )
        self.retry_after = retry_after
        self.attempts: tuple[Attempt, ...] = tuple(attempts)

    def __str__(self) -> str:
        where = ""
        if self.provider:
            where = f"[{self.provider}"
            if self.plugin and self.plugin != self.provider:
                where += f" ({self.plugin})"
            if self.code is not None:
                where += f" code {self.code}"
            where += "] "
        elif self.code is not None:
            where = f"[code {self.code}] "
        return where + self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, provider={self.provider!r}, "
            f"plugin={self.plugin!r}, code={self.code!r}, retryable={self.retryable!r}, "
            f"call_placed={self.call_placed!r})"
        )

    def with_context(self, *, provider: str | None = None, plugin: str | None = None) -> VoiceError:
        """Fill in ``provider`` and ``plugin`` where they are still unset; return ``self``."""
        if self.provider is None:
            self.provider = provider
        if self.plugin is None:
            self.plugin = plugin
        return self


class ConfigurationError(VoiceError):
    """Bad configuration: an unknown plugin, a missing or mistyped setting.

    The message names the exact key path, e.g. ``providers.backup.api_key``.
    """


class ValidationError(VoiceError):
    """Refused locally, before anything was sent: a bad number, a text too long."""


class UnsupportedFeature(ValidationError):
    """This provider cannot do that: a prompt type, a language, hanging up."""


class ProviderError(VoiceError):
    """The provider answered and said no. The call was not placed."""


class AuthenticationError(ProviderError):
    """Bad key, secret or signature (ITNIO ``-1``; Huawei ``1010004``, ``1023xxx``)."""


class PermissionDenied(ProviderError):
    """The account may not do this: IP not allowed, number not authorised (ITNIO ``-2``)."""


class InsufficientFunds(ProviderError):
    """The account balance is too low (ITNIO ``-10``)."""


class RequestExpired(ProviderError):
    """The request's timestamp fell outside the provider's window (ITNIO ``-16``).

    Providers re-sign and retry such a request once on their own before raising this.
    """

    default_retryable = True


class InvalidRequest(ProviderError):
    """The provider refused a parameter (ITNIO ``-22``; Huawei ``1010002``)."""


class RateLimited(ProviderError):
    """Flow control. Retryable after ``retry_after`` seconds when the provider says."""

    default_retryable = True


class NotFound(ProviderError):
    """No such call, record or file."""


class ProviderUnavailable(ProviderError):
    """A provider-side failure (ITNIO ``-18``; Huawei ``1010001``; HTTP 5xx).

    Retryable. ``call_placed`` is False when the provider said so in its own envelope and None
    when all we have is a bare 5xx from something in front of it.
    """

    default_retryable = True


class TransportError(VoiceError):
    """The network failed before the request was sent: the call was certainly not placed."""

    default_retryable = True


class OutcomeUnknown(TransportError):
    """The request may have reached the provider (read timeout, reset after sending).

    ``call_placed`` is None. Never retried, never failed over: look the call up, or wait for
    its push, before trying again.
    """

    default_retryable = False
    default_call_placed = None


class StoreError(VoiceError):
    """The record store could not read or write (disk full, database locked, unreadable row).

    Retryable: every write is one transaction and merging is idempotent, so trying again is
    safe. ``call_placed`` is None because a store failure says nothing about the call itself.
    The gateway never raises it for a call the provider accepted: it logs the failure and
    returns the receipt, so nobody retries a placed call.
    """

    default_retryable = True
    default_call_placed = None
