"""Reference tables rendered from the code, for the documentation.

The docs never copy a table by hand: the mkdocs hook (``docs/hooks.py``) replaces marker
comments such as ``<!-- voicegw:taxonomy -->`` with what these functions return.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

import attrs

from voicegw import errors
from voicegw.causes import q850_markdown, sip_markdown
from voicegw.plugins import PluginRegistry, default_registry
from voicegw.provider import Capability
from voicegw.testing.scenarios import ANSWERED, SCENARIOS

__all__ = ["MARKERS", "render_marker"]

_TAXONOMY_ORDER = [
    errors.VoiceError,
    errors.ConfigurationError,
    errors.ValidationError,
    errors.UnsupportedFeature,
    errors.ProviderError,
    errors.AuthenticationError,
    errors.PermissionDenied,
    errors.InsufficientFunds,
    errors.RequestExpired,
    errors.InvalidRequest,
    errors.RateLimited,
    errors.NotFound,
    errors.ProviderUnavailable,
    errors.TransportError,
    errors.OutcomeUnknown,
    errors.StoreError,
]

_PLACED = {False: "no", None: "unknown", True: "yes"}


def taxonomy_markdown() -> str:
    """Every exception class with its parent, defaults and meaning."""
    lines = [
        "| class | parent | retryable | call placed | meaning |",
        "|---|---|---|---|---|",
    ]
    for cls in _TAXONOMY_ORDER:
        parent = cls.__mro__[1].__name__ if cls is not errors.VoiceError else "Exception"
        doc = inspect.getdoc(cls) or ""
        summary = doc.split("\n\n")[0].replace("\n", " ")
        lines.append(
            f"| `{cls.__name__}` | `{parent}` | {'yes' if cls.default_retryable else 'no'} "
            f"| {_PLACED[cls.default_call_placed]} | {summary} |"
        )
    return "\n".join(lines)


def scenarios_markdown() -> str:
    """The scenario table shared by the sandbox and every emulator."""
    lines = [
        "| callee ends in | outcome | Q.850 | SIP | status | category |",
        "|---|---|---|---|---|---|",
    ]
    for suffix, scenario in [*SCENARIOS.items(), ("any other", ANSWERED)]:
        lines.append(
            f"| `{suffix}` | {scenario.name.replace('_', ' ')} | {scenario.q850} | "
            f"{scenario.sip} | `{scenario.status.value}` | `{scenario.category.value}` |"
        )
    return "\n".join(lines)


def capabilities_markdown(registry: PluginRegistry | None = None) -> str:
    """The capability matrix of every installed plugin."""
    plugins = (registry or default_registry()).providers()
    caps = list(Capability)
    lines = [
        "| plugin | " + " | ".join(c.value.replace("_", " ") for c in caps) + " |",
        "|---|" + "---|" * len(caps),
    ]
    for name, spec in plugins.items():
        cells = ["✓" if c in spec.capabilities else "" for c in caps]
        lines.append(f"| `{name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def codes_markdown(plugin: str, table: str, registry: PluginRegistry | None = None) -> str:
    """A plugin's code table, as :meth:`voicegw.codes.CodeTable.markdown` renders it."""
    spec = (registry or default_registry()).get(plugin)
    return spec.codes[table].markdown()


def settings_markdown(plugin: str, registry: PluginRegistry | None = None) -> str:
    """A plugin's settings: name, type, default, and whether it is a secret."""
    spec = (registry or default_registry()).get(plugin)
    lines = ["| setting | type | default | notes |", "|---|---|---|---|"]
    for field in attrs.fields(spec.settings_type):
        if field.default is attrs.NOTHING:
            default = "**required**"
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            default = "(empty)"
        else:
            default = f"`{field.default!r}`"
        kind = (getattr(field.type, "__name__", None) or str(field.type)).replace("|", "\\|")
        notes = "secret: never shown" if field.repr is False else ""
        lines.append(f"| `{field.name}` | `{kind}` | {default} | {notes} |")
    return "\n".join(lines)


def python_markdown(dotted: str) -> str:
    """What the function at ``package.module.function`` returns: for tables a plugin renders."""
    module_name, _, function = dotted.rpartition(".")
    renderer = getattr(importlib.import_module(module_name), function)
    text = renderer()
    if not isinstance(text, str):
        raise TypeError(f"{dotted}() must return Markdown text")
    return text


MARKERS: dict[str, Callable[..., str]] = {
    "taxonomy": taxonomy_markdown,
    "q850": q850_markdown,
    "sip": sip_markdown,
    "scenarios": scenarios_markdown,
    "capabilities": capabilities_markdown,
    "codes": codes_markdown,
    "settings": settings_markdown,
    "python": python_markdown,
}


def render_marker(name: str, *args: str) -> str:
    """The Markdown for marker ``<!-- voicegw:name args… -->``."""
    try:
        renderer = MARKERS[name]
    except KeyError:
        raise KeyError(f"unknown docs marker voicegw:{name}") from None
    return renderer(*args)
