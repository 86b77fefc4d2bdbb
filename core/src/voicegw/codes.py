"""Provider result codes as data: code → (exception class, retryable, call_placed, meaning).

Each plugin keeps its provider's codes in one :class:`CodeTable`. The same table raises the
errors at run time and renders the documentation, so the two cannot drift apart.

>>> from voicegw.errors import AuthenticationError, ProviderError
>>> table = CodeTable("demo", [CodeEntry("-1", AuthenticationError, "bad signature")])
>>> type(table.error("-1", provider="p")).__name__
'AuthenticationError'
>>> table.error("-99", provider="p").code   # unknown codes keep their raw value
'-99'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import attrs

from voicegw.errors import ProviderError, VoiceError

__all__ = ["CodeEntry", "CodeTable"]


@attrs.frozen
class CodeEntry:
    """One provider code. ``error`` is None for codes that mean success."""

    code: str
    error: type[VoiceError] | None
    description: str
    retryable: bool | None = None
    call_placed: bool | None = False

    @property
    def effective_retryable(self) -> bool:
        """``retryable`` as raised: the entry's own value, else the class default."""
        if self.retryable is not None:
            return self.retryable
        return self.error.default_retryable if self.error is not None else False


class CodeTable:
    """A provider's result codes, looked up exactly, then by prefix, then the fallback class.

    ``prefixes`` map a code prefix (``"1023"``) to the class for codes not listed one by one,
    so an undocumented ``1023099`` still lands on :class:`AuthenticationError`.
    """

    def __init__(
        self,
        plugin: str,
        entries: Iterable[CodeEntry],
        *,
        prefixes: Mapping[str, type[VoiceError]] | None = None,
        fallback: type[VoiceError] = ProviderError,
    ) -> None:
        self.plugin = plugin
        self.entries: dict[str, CodeEntry] = {}
        for entry in entries:
            if entry.code in self.entries:
                raise ValueError(f"duplicate code {entry.code!r} in the {plugin} code table")
            self.entries[entry.code] = entry
        self.prefixes = dict(prefixes or {})
        self.fallback = fallback

    def __contains__(self, code: object) -> bool:
        return str(code) in self.entries

    def __iter__(self) -> Iterator[CodeEntry]:
        return iter(self.entries.values())

    def lookup(self, code: str | int) -> CodeEntry:
        """The entry for ``code``; an unknown code gets a synthetic entry of the closest class."""
        key = str(code).strip()
        if key in self.entries:
            return self.entries[key]
        for prefix in sorted(self.prefixes, key=len, reverse=True):
            if key.startswith(prefix):
                return CodeEntry(key, self.prefixes[prefix], "undocumented code")
        return CodeEntry(key, self.fallback, "undocumented code")

    def is_success(self, code: str | int) -> bool:
        """True when ``code`` is listed as a success code."""
        entry = self.entries.get(str(code).strip())
        return entry is not None and entry.error is None

    def error(
        self,
        code: str | int,
        message: str | None = None,
        *,
        provider: str | None,
        retry_after: float | None = None,
    ) -> VoiceError:
        """The exception for ``code``, with the provider's own words in the message."""
        entry = self.lookup(code)
        cls = entry.error or self.fallback
        text = entry.description
        if message and message.strip() and message.strip().lower() != text.lower():
            text = f"{text}: {message.strip()}"
        return cls(
            text,
            provider=provider,
            plugin=self.plugin,
            code=entry.code,
            retryable=entry.retryable,
            call_placed=entry.call_placed,
            retry_after=retry_after,
        )

    def markdown(self) -> str:
        """The table as Markdown, for the provider's documentation page."""
        lines = [
            "| code | meaning | raises | retryable | call placed |",
            "|---|---|---|---|---|",
        ]
        for entry in self.entries.values():
            raises = f"`{entry.error.__name__}`" if entry.error else "— (success)"
            placed = {False: "no", None: "unknown", True: "yes"}[entry.call_placed]
            retry = "yes" if entry.effective_retryable else "no"
            if entry.error is None:
                retry, placed = "—", "—"
            lines.append(
                f"| `{entry.code}` | {entry.description} | {raises} | {retry} | {placed} |"
            )
        if self.prefixes:
            lines.append("")
            lines.append("Codes not listed above fall back by prefix:")
            lines.append("")
            for prefix, cls in self.prefixes.items():
                lines.append(f"- `{prefix}…` → `{cls.__name__}`")
        lines.append("")
        lines.append(f"Any other code raises `{self.fallback.__name__}` and keeps the raw code.")
        return "\n".join(lines)
