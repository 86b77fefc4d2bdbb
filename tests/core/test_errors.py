"""The exception taxonomy: hierarchy, defaults, context and formatting."""

from __future__ import annotations

import pytest

import voicegw
from voicegw import errors
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
from voicegw.models import Attempt

#: class → (parent, retryable by default, call_placed by default), as DESIGN.md draws the tree.
TAXONOMY: dict[type[VoiceError], tuple[type[Exception], bool, bool | None]] = {
    VoiceError: (Exception, False, False),
    ConfigurationError: (VoiceError, False, False),
    ValidationError: (VoiceError, False, False),
    UnsupportedFeature: (ValidationError, False, False),
    ProviderError: (VoiceError, False, False),
    AuthenticationError: (ProviderError, False, False),
    PermissionDenied: (ProviderError, False, False),
    InsufficientFunds: (ProviderError, False, False),
    RequestExpired: (ProviderError, True, False),
    InvalidRequest: (ProviderError, False, False),
    RateLimited: (ProviderError, True, False),
    NotFound: (ProviderError, False, False),
    ProviderUnavailable: (ProviderError, True, False),
    TransportError: (VoiceError, True, False),
    OutcomeUnknown: (TransportError, False, None),
    StoreError: (VoiceError, True, None),
}


def test_the_taxonomy_is_complete() -> None:
    exported = {getattr(errors, name) for name in errors.__all__}
    assert exported == set(TAXONOMY)


@pytest.mark.parametrize("cls", list(TAXONOMY), ids=lambda c: c.__name__)
def test_each_class_has_its_parent_and_defaults(cls: type[VoiceError]) -> None:
    parent, retryable, call_placed = TAXONOMY[cls]
    assert cls.__bases__ == (parent,)
    error = cls("it failed")
    assert error.retryable is retryable
    assert error.call_placed is call_placed
    assert (error.provider, error.plugin, error.code, error.retry_after) == (None,) * 4
    assert error.attempts == ()
    assert error.message == "it failed"
    assert str(error) == "it failed"
    assert getattr(voicegw, cls.__name__) is cls
    assert cls.__doc__


@pytest.mark.parametrize("cls", list(TAXONOMY), ids=lambda c: c.__name__)
def test_instances_may_override_the_defaults(cls: type[VoiceError]) -> None:
    error = cls("x", retryable=not cls.default_retryable, call_placed=None)
    assert error.retryable is not cls.default_retryable
    assert error.call_placed is None
    assert cls("x", call_placed=False).call_placed is False


def test_codes_are_kept_as_strings() -> None:
    assert AuthenticationError("bad", code=-1).code == "-1"  # type: ignore[arg-type]
    assert AuthenticationError("bad", code="1010004").code == "1010004"


def test_str_names_provider_plugin_and_code() -> None:
    assert str(InsufficientFunds("low", provider="backup", plugin="itniotech", code="-10")) == (
        "[backup (itniotech) code -10] low"
    )
    assert str(InsufficientFunds("low", provider="itniotech", plugin="itniotech")) == (
        "[itniotech] low"
    )
    assert str(InsufficientFunds("low", code="-10")) == "[code -10] low"


def test_repr_shows_the_routing_facts() -> None:
    error = ProviderUnavailable("down", provider="a", plugin="p", code="503", call_placed=None)
    assert repr(error) == (
        "ProviderUnavailable('down', provider='a', plugin='p', code='503', retryable=True, "
        "call_placed=None)"
    )


def test_with_context_fills_only_what_is_unset() -> None:
    error = RateLimited("slow down", plugin="itniotech")
    assert error.with_context(provider="backup", plugin="other") is error
    assert (error.provider, error.plugin) == ("backup", "itniotech")
    error.with_context(provider="primary")
    assert error.provider == "backup"


def test_retry_after_and_attempts_are_carried() -> None:
    attempts = [Attempt(provider="a", plugin="p", error="RateLimited", call_placed=False)]
    error = RateLimited("slow", retry_after=2.5, attempts=attempts)
    assert error.retry_after == 2.5
    assert error.attempts == tuple(attempts)


def test_errors_can_be_caught_by_their_ancestors() -> None:
    with pytest.raises(TransportError):
        raise OutcomeUnknown("maybe")
    with pytest.raises(ValidationError):
        raise UnsupportedFeature("cannot")
    with pytest.raises(VoiceError):
        raise NotFound("gone")
