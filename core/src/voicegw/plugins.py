"""The plugin registry: entry points, pluggy, lookup of providers by plugin name.

Entry points in the group ``voicegw.plugins`` are scanned once, lazily — the first time a
provider is looked up, never at ``import voicegw``. A plugin that fails to load is recorded as
unavailable with its reason; the others still work. ``VOICEGW_DISABLE_PLUGINS=a,b`` blocks
plugins by entry-point name. Tests use :meth:`PluginRegistry.register` and
:meth:`PluginRegistry.unregister` to add and remove plugin modules of their own.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import threading
from collections.abc import Iterable
from typing import Any, NamedTuple

import pluggy

from voicegw import hookspecs
from voicegw.errors import ConfigurationError
from voicegw.models import CallEvent
from voicegw.provider import PLUGIN_API_VERSION, ProviderPlugin

__all__ = ["ENTRY_POINT_GROUP", "Distribution", "PluginRegistry", "default_registry"]

ENTRY_POINT_GROUP = "voicegw.plugins"
DISABLE_ENV = "VOICEGW_DISABLE_PLUGINS"

logger = logging.getLogger("voicegw.plugins")


class Distribution(NamedTuple):
    """The installed package a plugin came from, as its metadata names it."""

    name: str
    version: str


class PluginRegistry:
    """Providers by plugin name, filled by the ``voicegw_register_providers`` hook."""

    def __init__(self, *, entry_points: bool = True) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._scan_entry_points = entry_points
        self._loaded = False
        self._lock = threading.Lock()
        self._providers: dict[str, ProviderPlugin] = {}
        self._origin: dict[str, str] = {}
        self._unavailable: dict[str, str] = {}
        self._distributions: dict[str, Distribution] = {}
        self._current_source = "<direct>"

    # -- the hook's side -----------------------------------------------------------------

    def add(self, plugin: ProviderPlugin) -> None:
        """Register a provider plugin. Called from ``voicegw_register_providers``."""
        if not isinstance(plugin, ProviderPlugin):
            raise TypeError(f"registry.add() takes a ProviderPlugin, got {type(plugin).__name__}")
        if plugin.api_version != PLUGIN_API_VERSION:
            raise ConfigurationError(
                f"plugin {plugin.name!r} targets voicegw plugin API {plugin.api_version}, "
                f"this voicegw speaks {PLUGIN_API_VERSION}"
            )
        if plugin.name in self._providers and self._origin[plugin.name] != self._current_source:
            raise ConfigurationError(
                f"plugin name {plugin.name!r} registered twice "
                f"({self._origin[plugin.name]} and {self._current_source})"
            )
        self._providers[plugin.name] = plugin
        self._origin[plugin.name] = self._current_source

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Scan entry points once and run every registration hook. Idempotent."""
        with self._lock:
            if self._loaded:
                return
            self._loaded = True
            if self._scan_entry_points:
                self._load_entry_points()

    def _load_entry_points(self) -> None:
        disabled = _disabled_names()
        for ep in _entry_points():
            if ep.name in disabled:
                self._unavailable[ep.name] = f"disabled by {DISABLE_ENV}"
                continue
            if self._pm.has_plugin(ep.name):
                continue
            try:
                module = ep.load()
            except Exception as exc:  # a broken plugin must not break the others
                self._unavailable[ep.name] = f"failed to import {ep.value}: {_describe(exc)}"
                logger.warning("voicegw plugin %r unavailable: %s", ep.name, exc)
                continue
            if ep.dist is not None:
                self._distributions[ep.name] = Distribution(ep.dist.name, ep.dist.version)
            self._register_module(module, ep.name)

    def _register_module(self, module: Any, name: str) -> None:
        try:
            self._pm.register(module, name=name)
        except Exception as exc:
            self._unavailable[name] = f"invalid plugin: {_describe(exc)}"
            return
        self._call_register_hook(module, name)

    def _call_register_hook(self, module: Any, name: str) -> None:
        impls = [
            impl
            for impl in self._pm.hook.voicegw_register_providers.get_hookimpls()
            if impl.plugin is module
        ]
        before = dict(self._providers)
        self._current_source = name
        try:
            for impl in impls:
                impl.function(registry=self)
        except Exception as exc:
            # Roll back whatever this plugin added before it failed.
            self._providers = before
            self._origin = {k: v for k, v in self._origin.items() if k in before}
            self._pm.unregister(module)
            self._unavailable[name] = f"registration failed: {_describe(exc)}"
            logger.warning("voicegw plugin %r unavailable: %s", name, exc)
        finally:
            self._current_source = "<direct>"

    def register(self, module: Any, name: str | None = None) -> str:
        """Register a plugin module (or object) by hand, as tests do. Returns its name."""
        self.load()
        plugin_name = name or getattr(module, "__name__", None) or repr(module)
        if self._pm.has_plugin(plugin_name):
            raise ConfigurationError(
                f"plugin {plugin_name!r} could not be registered: that name is already registered"
            )
        self._unavailable.pop(plugin_name, None)
        self._register_module(module, plugin_name)
        if plugin_name in self._unavailable:
            raise ConfigurationError(
                f"plugin {plugin_name!r} could not be registered: {self._unavailable[plugin_name]}"
            )
        return plugin_name

    def unregister(self, name: str) -> None:
        """Remove a plugin module and the providers it added."""
        self.load()
        module = self._pm.unregister(name=name)
        if module is None and name not in self._origin.values():
            raise KeyError(name)
        for provider in [p for p, origin in self._origin.items() if origin == name]:
            del self._providers[provider]
            del self._origin[provider]

    # -- lookups -------------------------------------------------------------------------

    def get(self, plugin: str, *, key: str = "plugin") -> ProviderPlugin:
        """The provider plugin called ``plugin``; ``ConfigurationError`` naming ``key`` if none."""
        self.load()
        if plugin in self._providers:
            return self._providers[plugin]
        installed = ", ".join(sorted(self._providers)) or "none"
        reason = self._unavailable.get(plugin)
        if reason:
            raise ConfigurationError(
                f"{key}: plugin {plugin!r} is installed but unavailable ({reason}); "
                f"available: {installed}"
            )
        raise ConfigurationError(f"{key}: unknown plugin {plugin!r}; installed: {installed}")

    def providers(self) -> dict[str, ProviderPlugin]:
        """Every available provider plugin by name."""
        self.load()
        return dict(sorted(self._providers.items()))

    def distribution(self, plugin: str) -> Distribution | None:
        """The installed distribution that registered ``plugin``; None for one added by hand."""
        self.load()
        source = self._origin.get(plugin)
        return None if source is None else self._distributions.get(source)

    def unavailable(self) -> dict[str, str]:
        """Plugins that could not be loaded, with the reason."""
        self.load()
        return dict(sorted(self._unavailable.items()))

    def emit(self, event: CallEvent) -> None:
        """Hand ``event`` to every ``voicegw_event_received`` observer; log their failures."""
        self.load()
        for impl in self._pm.hook.voicegw_event_received.get_hookimpls():
            try:
                impl.function(event=event)
            except Exception:
                logger.exception("event observer %s failed", impl.plugin_name)


def _entry_points() -> Iterable[importlib.metadata.EntryPoint]:
    return importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)


def _disabled_names() -> set[str]:
    raw = os.environ.get(DISABLE_ENV, "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


_default: PluginRegistry | None = None


def default_registry() -> PluginRegistry:
    """The process-wide registry, built from installed entry points on first use."""
    global _default
    if _default is None:
        _default = PluginRegistry()
    return _default
