"""Provider codes as data: lookup, errors raised from entries, and the Markdown for the docs."""

from __future__ import annotations

import pytest

from voicegw import CodeEntry, CodeTable
from voicegw.errors import (
    AuthenticationError,
    InsufficientFunds,
    InvalidRequest,
    ProviderError,
    ProviderUnavailable,
    RateLimited,
    RequestExpired,
    VoiceError,
)


@pytest.fixture
def table() -> CodeTable:
    return CodeTable(
        "demo",
        [
            CodeEntry("0", None, "success"),
            CodeEntry("-1", AuthenticationError, "bad signature"),
            CodeEntry("-10", InsufficientFunds, "balance too low"),
            CodeEntry("-16", RequestExpired, "timestamp expired", retryable=False),
            CodeEntry("-18", ProviderUnavailable, "system busy", call_placed=None),
            CodeEntry("1023001", AuthenticationError, "token expired"),
        ],
        prefixes={"1023": AuthenticationError, "10": InvalidRequest},
        fallback=ProviderUnavailable,
    )


def test_entry_effective_retryable() -> None:
    assert CodeEntry("x", RateLimited, "slow").effective_retryable is True
    assert CodeEntry("x", RateLimited, "slow", retryable=False).effective_retryable is False
    assert CodeEntry("x", InsufficientFunds, "low").effective_retryable is False
    assert CodeEntry("x", InsufficientFunds, "low", retryable=True).effective_retryable is True
    assert CodeEntry("0", None, "ok").effective_retryable is False


def test_entry_defaults_to_not_placed() -> None:
    entry = CodeEntry("x", InvalidRequest, "bad")
    assert entry.call_placed is False
    assert entry.retryable is None


def test_lookup_exact_then_prefix_then_fallback(table: CodeTable) -> None:
    assert table.lookup("-10").error is InsufficientFunds
    assert table.lookup(-10).error is InsufficientFunds  # ints are codes too
    assert table.lookup(" -10 ").error is InsufficientFunds
    assert table.lookup("1023001").description == "token expired"
    undocumented = table.lookup("1023099")
    assert (undocumented.error, undocumented.code) == (AuthenticationError, "1023099")
    assert table.lookup("1010002").error is InvalidRequest  # the shorter prefix
    fallback = table.lookup("-999")
    assert (fallback.error, fallback.code, fallback.description) == (
        ProviderUnavailable,
        "-999",
        "undocumented code",
    )


def test_longest_prefix_wins_whatever_the_declaration_order() -> None:
    table = CodeTable("t", [], prefixes={"1": InvalidRequest, "102": AuthenticationError})
    assert table.lookup("1023").error is AuthenticationError
    assert table.lookup("1099").error is InvalidRequest


def test_membership_iteration_and_success(table: CodeTable) -> None:
    assert "-1" in table
    assert -1 in table
    assert "-2" not in table
    assert [e.code for e in table] == ["0", "-1", "-10", "-16", "-18", "1023001"]
    assert table.is_success("0")
    assert table.is_success(0)
    assert not table.is_success("-1")
    assert not table.is_success("unknown")


def test_duplicate_codes_are_refused() -> None:
    with pytest.raises(ValueError, match="duplicate code '-1' in the demo code table"):
        CodeTable("demo", [CodeEntry("-1", None, "a"), CodeEntry("-1", None, "b")])


def test_error_carries_the_entry(table: CodeTable) -> None:
    error = table.error("-10", "Insufficient balance", provider="backup", retry_after=3.0)
    assert type(error) is InsufficientFunds
    assert error.message == "balance too low: Insufficient balance"
    assert (error.provider, error.plugin, error.code) == ("backup", "demo", "-10")
    assert (error.retryable, error.call_placed, error.retry_after) == (False, False, 3.0)


def test_error_uses_entry_overrides(table: CodeTable) -> None:
    expired = table.error("-16", provider="p")
    assert type(expired) is RequestExpired
    assert expired.retryable is False  # the entry overrides the class default
    busy = table.error("-18", provider="p")
    assert busy.call_placed is None
    assert busy.retryable is True


@pytest.mark.parametrize("message", [None, "", "   ", "bad signature", "BAD SIGNATURE "])
def test_error_does_not_repeat_the_description(table: CodeTable, message: str | None) -> None:
    assert table.error("-1", message, provider="p").message == "bad signature"


def test_unknown_codes_keep_their_raw_value(table: CodeTable) -> None:
    error = table.error(" 4242 ", "who knows", provider="p")
    assert type(error) is ProviderUnavailable
    assert error.code == "4242"
    assert error.message == "undocumented code: who knows"


def test_default_fallback_is_provider_error() -> None:
    error = CodeTable("t", []).error("x", provider="p")
    assert type(error) is ProviderError
    assert isinstance(error, VoiceError)


def test_error_for_a_success_code_uses_the_fallback(table: CodeTable) -> None:
    assert type(table.error("0", provider="p")) is ProviderUnavailable


def test_markdown(table: CodeTable) -> None:
    text = table.markdown()
    lines = text.splitlines()
    assert lines[0] == "| code | meaning | raises | retryable | call placed |"
    assert "| `0` | success | — (success) | — | — |" in lines
    assert "| `-1` | bad signature | `AuthenticationError` | no | no |" in lines
    assert "| `-16` | timestamp expired | `RequestExpired` | no | no |" in lines
    assert "| `-18` | system busy | `ProviderUnavailable` | yes | unknown |" in lines
    assert "- `1023…` → `AuthenticationError`" in lines
    assert lines[-1] == "Any other code raises `ProviderUnavailable` and keeps the raw code."


def test_markdown_without_prefixes() -> None:
    text = CodeTable("t", [CodeEntry("1", RateLimited, "slow")]).markdown()
    assert "| `1` | slow | `RateLimited` | yes | no |" in text
    assert "prefix" not in text
