"""Configuration: a TOML file or a mapping → typed settings, through cattrs.

::

    [gateway]
    route = ["primary", "backup"]

    [providers.primary]
    plugin = "huawei"
    app_key = "${HUAWEI_APP_KEY}"
    app_secret = "${HUAWEI_APP_SECRET}"

Strings may reference environment variables as ``${NAME}`` or ``${NAME:-default}``
(``$${`` escapes a literal ``${``). Every error names the exact key path
(``providers.backup.api_key``) and what was expected, and never echoes a value: values may be
secrets. With no providers at all, the gateway uses the in-process ``sandbox``.
"""

from __future__ import annotations

import os
import re
import tomllib
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import cattrs
from cattrs.errors import ClassValidationError, ForbiddenExtraKeysError

from voicegw.errors import ConfigurationError, VoiceError
from voicegw.plugins import PluginRegistry, default_registry
from voicegw.provider import ProviderSettings

__all__ = [
    "Config",
    "GatewaySettings",
    "StoreSettings",
    "WebhookSettings",
    "interpolate",
    "load_config",
]

_ENV_REF = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _non_negative(instance: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if isinstance(value, bool) or value < 0:
        raise ValueError(f"{attribute.name} must be ≥ 0")


def _one_of(*choices: str) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in choices:
            raise ValueError(f"{attribute.name} must be one of: {', '.join(choices)}")

    return check


def _route(value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise ValueError('route must be a list of provider names, e.g. ["primary", "backup"]')
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ValueError(f"route[{index}] must be a provider name (a string)")
    return tuple(value)


@attrs.frozen(kw_only=True)
class GatewaySettings:
    """``[gateway]``: routing across providers.

    ``route`` lists providers in the order they are tried; a send moves to the next one only
    when the previous one certainly did not place the call. ``retries`` is the budget of
    extra tries per logical send, shared by all hops. A retry waits ``retry_backoff`` × 2ⁿ
    seconds, or the provider's retry-after; a wait longer than ``max_retry_wait`` fails over
    instead. A provider that answered with an authentication or configuration error is
    skipped for ``cooldown`` seconds.
    """

    route: tuple[str, ...] = attrs.field(default=(), converter=_route)
    retries: int = attrs.field(default=2, validator=_non_negative)
    retry_backoff: float = attrs.field(default=0.5, validator=_non_negative)
    max_retry_wait: float = attrs.field(default=30.0, validator=_non_negative)
    cooldown: float = attrs.field(default=60.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class StoreSettings:
    """``[store]``: where records and events are kept."""

    url: str = "sqlite:///voicegw.db"


@attrs.frozen(kw_only=True)
class WebhookSettings:
    """``[webhooks]``: the push receiver.

    ``public_url`` is the address providers reach the receiver at (behind your TLS proxy);
    pushes are verified against it plus the route path. ``ingest`` chooses when a push is
    parsed: after it is stored and acknowledged (``queued``) or before (``inline``).
    """

    public_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    max_body: int = attrs.field(default=1 << 20, validator=_non_negative)
    #: ``queued``: a verified push is stored as received and acknowledged, then read into
    #: events in the background (a push that cannot be read is kept aside, not refused).
    #: ``inline``: read and stored before it is acknowledged (an unreadable push gets 400).
    ingest: str = attrs.field(default="queued", validator=_one_of("queued", "inline"))
    #: Seconds a queued push may wait for the receiver to fall quiet before it is read anyway.
    max_defer: float = attrs.field(default=2.0, validator=_non_negative)


@attrs.frozen(kw_only=True)
class Config:
    """The whole configuration, typed."""

    gateway: GatewaySettings = attrs.field(factory=GatewaySettings)
    providers: Mapping[str, ProviderSettings] = attrs.field(factory=dict)
    store: StoreSettings = attrs.field(factory=StoreSettings)
    webhooks: WebhookSettings = attrs.field(factory=WebhookSettings)
    source: str = "<mapping>"


_SECTIONS = {"gateway": GatewaySettings, "store": StoreSettings, "webhooks": WebhookSettings}

_converter = cattrs.Converter(
    forbid_extra_keys=True, detailed_validation=True, prefer_attrib_converters=True
)


def _number(value: Any, kind: type[Any]) -> Any:
    """Numbers from TOML, or from strings (what ``${ENV}`` gives); never from booleans."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"expected {kind.__name__}")
    return kind(value)


def _text(value: Any, _: type[Any]) -> str:
    """Text settings: strings, or whole numbers written without quotes; never None or a bool."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise TypeError("expected str")


_converter.register_structure_hook(str, _text)
_converter.register_structure_hook(int, _number)
_converter.register_structure_hook(float, _number)


def interpolate(value: Any, environ: Mapping[str, str], path: str = "") -> Any:
    """Replace ``${NAME}`` references in every string of ``value``, recursively."""
    if isinstance(value, str):

        def substitute(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name, default = match.group(1), match.group(2)
            if name in environ:
                return environ[name]
            if default is not None:
                return default
            raise ConfigurationError(f"{path}: environment variable {name} is not set")

        return _ENV_REF.sub(substitute, value)
    if isinstance(value, Mapping):
        return {
            key: interpolate(item, environ, f"{path}.{key}" if path else str(key))
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [interpolate(item, environ, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


def read_source(source: str | os.PathLike[str] | Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The raw mapping of a TOML file or a mapping, and a name for messages."""
    if isinstance(source, Mapping):
        return dict(source), "<mapping>"
    path = Path(source)
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle), str(path)
    except FileNotFoundError:
        raise ConfigurationError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigurationError(f"{path}: cannot be read: {exc.strerror}") from None


def load_config(
    source: str | os.PathLike[str] | Mapping[str, Any] | None = None,
    *,
    registry: PluginRegistry | None = None,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """Read, interpolate and type-check a configuration.

    ``source`` is a TOML path or a mapping; None means no configuration (the sandbox).
    """
    registry = registry or default_registry()
    env = os.environ if environ is None else environ
    if source is None:
        raw: dict[str, Any] = {}
        name = "<defaults>"
    else:
        raw, name = read_source(source)
    raw = interpolate(raw, env)
    unknown = set(raw) - {"providers", *_SECTIONS}
    if unknown:
        keys = ", ".join(sorted(unknown))
        raise ConfigurationError(
            f"{name}: unknown top-level key(s) {keys}; expected gateway, providers, store, webhooks"
        )
    sections: dict[str, Any] = {}
    for key, cls in _SECTIONS.items():
        table = raw.get(key, {})
        if not isinstance(table, Mapping):
            raise ConfigurationError(f"{key}: expected a table")
        sections[key] = _structure(table, cls, key)
    providers = _providers(raw.get("providers", {}), registry)
    if not providers:
        providers = {
            "sandbox": _structure(
                {"plugin": "sandbox"}, registry.get("sandbox").settings_type, "providers"
            )
        }
    gateway: GatewaySettings = sections["gateway"]
    route = gateway.route or tuple(providers)
    for index, hop in enumerate(route):
        if hop in route[:index]:
            raise ConfigurationError(f"gateway.route[{index}]: {hop!r} is listed twice")
        if hop not in providers:
            raise ConfigurationError(
                f"gateway.route[{index}]: no provider {hop!r}; configured: " + ", ".join(providers)
            )
    gateway = attrs.evolve(gateway, route=tuple(route))
    return Config(
        gateway=gateway,
        providers=providers,
        store=sections["store"],
        webhooks=sections["webhooks"],
        source=name,
    )


def _providers(table: Any, registry: PluginRegistry) -> dict[str, ProviderSettings]:
    if not isinstance(table, Mapping):
        raise ConfigurationError("providers: expected a table of provider tables")
    providers: dict[str, ProviderSettings] = {}
    for provider_name, settings in table.items():
        path = f"providers.{provider_name}"
        if not isinstance(settings, Mapping):
            raise ConfigurationError(f"{path}: expected a table")
        plugin_name = settings.get("plugin")
        if not isinstance(plugin_name, str) or not plugin_name:
            raise ConfigurationError(f"{path}.plugin: missing; name the plugin, e.g. 'itniotech'")
        plugin = registry.get(plugin_name, key=f"{path}.plugin")
        providers[str(provider_name)] = _structure(settings, plugin.settings_type, path)
    return providers


def _structure(data: Mapping[str, Any], cls: type[Any], path: str) -> Any:
    try:
        return _converter.structure(dict(data), cls)
    except ClassValidationError as exc:
        messages = _messages(exc, cls, path)
        raise ConfigurationError("; ".join(messages)) from None
    except VoiceError as exc:
        raise ConfigurationError(_with_field(exc.message, cls, path)) from None
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(_with_field(str(exc), cls, path)) from None


def _with_field(message: str, cls: type[Any], path: str) -> str:
    """``"caller_id must be …"`` under ``providers.a`` → ``"providers.a.caller_id: must be …"``."""
    head, _, rest = message.partition(" ")
    if rest and head in {a.name for a in attrs.fields(cls)}:
        return f"{path}.{head}: {rest}"
    return f"{path}: {message}"


def _attrs_class(annotation: Any, fallback: type[Any]) -> type[Any]:
    """The attrs class an annotation names (``Table`` or ``Table | None``), else ``fallback``."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and attrs.has(candidate):
            return candidate
    return fallback


def _messages(exc: ClassValidationError, cls: type[Any], path: str) -> list[str]:
    """One message per problem, each starting with the key path, never echoing a value."""
    messages: list[str] = []
    for error in exc.exceptions:
        note = getattr(error, "__notes__", [None])[0] if getattr(error, "__notes__", None) else None
        key = getattr(note, "name", None)
        where = f"{path}.{key}" if key else path
        if isinstance(error, ForbiddenExtraKeysError):
            owner = error.cl if attrs.has(error.cl) else cls
            known = ", ".join(a.name for a in attrs.fields(owner))
            extras = ", ".join(f"{path}.{k}" for k in sorted(error.extra_fields))
            messages.append(f"{extras}: unknown setting; known settings: {known}")
        elif isinstance(error, KeyError):
            messages.append(f"{where}: required setting is missing")
        elif isinstance(error, ClassValidationError):
            messages.extend(_messages(error, _attrs_class(getattr(note, "type", None), cls), where))
        elif note is None:  # raised by the class's own validators, after conversion
            text = error.message if isinstance(error, VoiceError) else str(error)
            messages.append(_with_field(text, cls, where))
        elif isinstance(error, VoiceError):
            messages.append(f"{where}: {error.message}")
        else:
            # Conversion errors quote the value, and values may be secrets: name the type.
            expected = getattr(note, "type", None)
            expected_name = getattr(expected, "__name__", None) or str(expected or "a valid value")
            messages.append(f"{where}: expected {expected_name}")
    return messages or [f"{path}: invalid settings"]
