"""The plugin registry: entry points, broken plugins, disabling, register()/unregister().

Entry points are faked: ``voicegw.plugins._entry_points`` is patched to return
``importlib.metadata.EntryPoint`` objects that point at small modules written to a temporary
directory on ``sys.path``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
import textwrap
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import attrs
import pytest

from voicegw import PLUGIN_API_VERSION, PluginRegistry, ProviderPlugin, ProviderSettings, hookimpl
from voicegw import plugins as plugins_module
from voicegw.config import load_config
from voicegw.errors import ConfigurationError
from voicegw.models import CallEvent
from voicegw.plugins import DISABLE_ENV, ENTRY_POINT_GROUP, default_registry
from voicegw.provider import BaseProvider

PLUGIN_HEADER = """
import attrs
from voicegw.hookspecs import hookimpl
from voicegw.provider import BaseProvider, ProviderPlugin, ProviderSettings


def make(name, api_version=1):
    @attrs.frozen(kw_only=True)
    class Settings(ProviderSettings):
        plugin: str = name

    class Provider(BaseProvider):
        plugin_name = name

    return ProviderPlugin(
        name=name,
        settings_type=Settings,
        factory=Provider,
        capabilities=["speech"],
        api_version=api_version,
    )
"""

SOURCES = {
    "good": """
@hookimpl
def voicegw_register_providers(registry):
    registry.add(make("good"))
""",
    "also_good": """
@hookimpl
def voicegw_register_providers(registry):
    registry.add(make("also_good"))
    registry.add(make("also_good_2"))
""",
    "broken_import": """
raise RuntimeError("kaboom at import")
""",
    "hook_raises": """
@hookimpl
def voicegw_register_providers(registry):
    registry.add(make("halfway"))
    raise ValueError("hook exploded")
""",
    "old_api": """
@hookimpl
def voicegw_register_providers(registry):
    registry.add(make("old", api_version=99))
""",
    "bad_signature": """
@hookimpl
def voicegw_register_providers(reg):
    pass
""",
    "duplicate": """
@hookimpl
def voicegw_register_providers(registry):
    registry.add(make("good"))
""",
    "observer": """
SEEN = []

@hookimpl
def voicegw_event_received(event):
    SEEN.append(event.call_id)
""",
    "bad_observer": """
@hookimpl
def voicegw_event_received(event):
    raise RuntimeError("observer down")
""",
}


@attrs.frozen
class FakePlugins:
    """Fake plugin modules written for one test, and entry points that name them."""

    prefix: str

    def module(self, key: str) -> str:
        return f"{self.prefix}_{key}"

    def entry_point(self, key: str, name: str | None = None) -> importlib.metadata.EntryPoint:
        return importlib.metadata.EntryPoint(name or key, self.module(key), ENTRY_POINT_GROUP)

    def imported(self, key: str) -> ModuleType:
        return sys.modules[self.module(key)]


@pytest.fixture
def fake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakePlugins]:
    prefix = f"vgfake_{uuid.uuid4().hex[:8]}"
    for key, body in SOURCES.items():
        (tmp_path / f"{prefix}_{key}.py").write_text(
            PLUGIN_HEADER + textwrap.dedent(body), encoding="utf-8"
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    fakes = FakePlugins(prefix)
    yield fakes
    for name in [m for m in sys.modules if m.startswith(prefix)]:
        del sys.modules[name]


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> Callable[..., list[int]]:
    """Make the registry see exactly these entry points; returns a list counting the scans."""

    def install(*eps: importlib.metadata.EntryPoint) -> list[int]:
        scans: list[int] = []

        def fake_entry_points() -> list[importlib.metadata.EntryPoint]:
            scans.append(1)
            return list(eps)

        monkeypatch.setattr(plugins_module, "_entry_points", fake_entry_points)
        return scans

    return install


@pytest.fixture
def broken_world(fake: FakePlugins, entry_points: Callable[..., list[int]]) -> PluginRegistry:
    """A registry whose entry points hold one good plugin and every way of being broken."""
    entry_points(
        fake.entry_point("good"),
        fake.entry_point("broken_import"),
        fake.entry_point("hook_raises"),
        fake.entry_point("old_api"),
        fake.entry_point("bad_signature"),
        importlib.metadata.EntryPoint("missing", "vg_no_such_module_zz", ENTRY_POINT_GROUP),
    )
    return PluginRegistry()


# -- loading ----------------------------------------------------------------------------------


def test_entry_points_are_scanned_lazily_and_once(
    fake: FakePlugins, entry_points: Callable[..., list[int]]
) -> None:
    scans = entry_points(fake.entry_point("good"))
    registry = PluginRegistry()
    assert scans == []
    assert fake.module("good") not in sys.modules
    assert list(registry.providers()) == ["good"]
    registry.get("good")
    registry.unavailable()
    registry.load()
    assert scans == [1]


def test_registry_without_entry_points_scans_nothing(
    entry_points: Callable[..., list[int]],
) -> None:
    scans = entry_points()
    registry = PluginRegistry(entry_points=False)
    assert registry.providers() == {}
    assert scans == []


def test_the_good_plugin_works_beside_broken_ones(broken_world: PluginRegistry) -> None:
    assert list(broken_world.providers()) == ["good"]
    config = load_config({"providers": {"g": {"plugin": "good"}}}, registry=broken_world)
    assert config.providers["g"].plugin == "good"


def test_unavailable_lists_every_broken_plugin_with_its_reason(
    broken_world: PluginRegistry, fake: FakePlugins
) -> None:
    reasons = broken_world.unavailable()
    assert set(reasons) == {"broken_import", "hook_raises", "old_api", "bad_signature", "missing"}
    assert reasons["broken_import"] == (
        f"failed to import {fake.module('broken_import')}: RuntimeError: kaboom at import"
    )
    assert reasons["hook_raises"] == "registration failed: ValueError: hook exploded"
    assert reasons["old_api"].startswith("registration failed: ConfigurationError: ")
    assert "targets voicegw plugin API 99" in reasons["old_api"]
    assert f"speaks {PLUGIN_API_VERSION}" in reasons["old_api"]
    assert reasons["bad_signature"].startswith("invalid plugin: ")
    assert reasons["missing"].startswith("failed to import vg_no_such_module_zz: ModuleNotFound")


def test_a_failed_hook_is_rolled_back(broken_world: PluginRegistry) -> None:
    providers = broken_world.providers()
    assert "halfway" not in providers
    assert "old" not in providers
    with pytest.raises(ConfigurationError, match="unknown plugin 'halfway'"):
        broken_world.get("halfway")


def test_get_of_an_unavailable_plugin_gives_the_reason(broken_world: PluginRegistry) -> None:
    with pytest.raises(ConfigurationError) as info:
        broken_world.get("hook_raises", key="providers.backup.plugin")
    message = str(info.value)
    assert message.startswith("providers.backup.plugin: plugin 'hook_raises' is installed but")
    assert "unavailable (registration failed: ValueError: hook exploded)" in message
    assert message.endswith("available: good")


def test_get_of_an_unknown_plugin_lists_the_installed_ones(broken_world: PluginRegistry) -> None:
    with pytest.raises(ConfigurationError) as info:
        broken_world.get("nope")
    assert str(info.value) == "plugin: unknown plugin 'nope'; installed: good"


def test_get_with_nothing_installed_says_none() -> None:
    with pytest.raises(ConfigurationError, match="installed: none$"):
        PluginRegistry(entry_points=False).get("nope")


def test_broken_plugins_are_logged(
    fake: FakePlugins,
    entry_points: Callable[..., list[int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry_points(fake.entry_point("broken_import"), fake.entry_point("hook_raises"))
    with caplog.at_level(logging.WARNING, logger="voicegw.plugins"):
        PluginRegistry().load()
    text = caplog.text
    assert "'broken_import' unavailable" in text
    assert "'hook_raises' unavailable" in text


def test_disabled_plugins_are_not_imported(
    fake: FakePlugins,
    entry_points: Callable[..., list[int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    entry_points(fake.entry_point("good"), fake.entry_point("also_good"))
    monkeypatch.setenv(DISABLE_ENV, " good , other,")
    registry = PluginRegistry()
    assert list(registry.providers()) == ["also_good", "also_good_2"]
    assert registry.unavailable() == {"good": f"disabled by {DISABLE_ENV}"}
    assert fake.module("good") not in sys.modules
    with pytest.raises(ConfigurationError, match=f"disabled by {DISABLE_ENV}"):
        registry.get("good")


def test_a_second_plugin_claiming_a_name_is_refused(
    fake: FakePlugins, entry_points: Callable[..., list[int]]
) -> None:
    entry_points(fake.entry_point("good"), fake.entry_point("duplicate"))
    registry = PluginRegistry()
    assert registry.get("good").name == "good"
    reason = registry.unavailable()["duplicate"]
    assert "registered twice" in reason
    assert "'good'" in reason


def test_one_entry_point_name_is_loaded_once(
    fake: FakePlugins, entry_points: Callable[..., list[int]]
) -> None:
    # Two distributions may declare the same entry point (an editable and a built install).
    entry_points(fake.entry_point("good"), fake.entry_point("good"))
    registry = PluginRegistry()
    assert list(registry.providers()) == ["good"]
    assert registry.unavailable() == {}


# -- register() / unregister() --------------------------------------------------------------


def test_register_and_unregister_a_module(fake: FakePlugins) -> None:
    registry = PluginRegistry(entry_points=False)
    module = __import__(fake.module("also_good"))
    name = registry.register(module)
    assert name == fake.module("also_good")
    assert list(registry.providers()) == ["also_good", "also_good_2"]
    registry.unregister(name)
    assert registry.providers() == {}
    with pytest.raises(ConfigurationError, match="unknown plugin 'also_good'"):
        registry.get("also_good")


def test_register_under_a_chosen_name(fake: FakePlugins) -> None:
    registry = PluginRegistry(entry_points=False)
    assert registry.register(__import__(fake.module("good")), name="mine") == "mine"
    registry.unregister("mine")
    assert registry.providers() == {}


def test_register_an_object_with_hook_methods() -> None:
    @attrs.frozen(kw_only=True)
    class InlineSettings(ProviderSettings):
        plugin: str = "inline"

    spec = ProviderPlugin(
        name="inline", settings_type=InlineSettings, factory=BaseProvider, capabilities=[]
    )

    class Inline:
        @hookimpl
        def voicegw_register_providers(self, registry: PluginRegistry) -> None:
            registry.add(spec)

    registry = PluginRegistry(entry_points=False)
    registry.register(Inline(), name="inline-plugin")
    assert registry.get("inline") is spec


@pytest.mark.parametrize(
    ("key", "fragment"),
    [
        ("hook_raises", "registration failed: ValueError: hook exploded"),
        ("old_api", "targets voicegw plugin API 99"),
        ("bad_signature", "invalid plugin"),
    ],
)
def test_register_of_a_broken_module_raises(fake: FakePlugins, key: str, fragment: str) -> None:
    registry = PluginRegistry(entry_points=False)
    with pytest.raises(ConfigurationError, match="could not be registered") as info:
        registry.register(__import__(fake.module(key)))
    assert fragment in str(info.value)
    assert registry.providers() == {}


def test_register_after_a_failure_can_succeed(fake: FakePlugins) -> None:
    registry = PluginRegistry(entry_points=False)
    with pytest.raises(ConfigurationError):
        registry.register(__import__(fake.module("hook_raises")), name="slot")
    registry.register(__import__(fake.module("good")), name="slot")
    assert "slot" not in registry.unavailable()
    assert list(registry.providers()) == ["good"]


def test_registering_a_name_twice_leaves_the_first_registration_alone(fake: FakePlugins) -> None:
    registry = PluginRegistry(entry_points=False)
    registry.register(__import__(fake.module("good")), name="slot")
    with pytest.raises(ConfigurationError, match="could not be registered"):
        registry.register(__import__(fake.module("also_good")), name="slot")
    assert list(registry.providers()) == ["good"]
    assert registry.unavailable() == {}  # "slot" works: it is not unavailable


def test_unregister_unknown_raises_key_error() -> None:
    with pytest.raises(KeyError):
        PluginRegistry(entry_points=False).unregister("nobody")


def test_unregister_an_entry_point_plugin(
    fake: FakePlugins, entry_points: Callable[..., list[int]]
) -> None:
    entry_points(fake.entry_point("good"), fake.entry_point("also_good"))
    registry = PluginRegistry()
    registry.unregister("also_good")
    assert list(registry.providers()) == ["good"]


def test_register_after_loading_keeps_entry_point_plugins(
    fake: FakePlugins, entry_points: Callable[..., list[int]]
) -> None:
    entry_points(fake.entry_point("good"))
    registry = PluginRegistry()
    registry.register(__import__(fake.module("also_good")))
    assert list(registry.providers()) == ["also_good", "also_good_2", "good"]


# -- add() ------------------------------------------------------------------------------------


def _spec(name: str, api_version: int = PLUGIN_API_VERSION) -> ProviderPlugin:
    return ProviderPlugin(
        name=name,
        settings_type=ProviderSettings,
        factory=BaseProvider,
        capabilities=[],
        api_version=api_version,
    )


def test_add_takes_only_provider_plugins() -> None:
    with pytest.raises(TypeError, match="takes a ProviderPlugin, got dict"):
        PluginRegistry(entry_points=False).add({"name": "x"})  # type: ignore[arg-type]


def test_add_refuses_another_api_version() -> None:
    with pytest.raises(ConfigurationError, match="targets voicegw plugin API 2"):
        PluginRegistry(entry_points=False).add(_spec("x", api_version=PLUGIN_API_VERSION + 1))


def test_add_from_the_same_source_replaces() -> None:
    registry = PluginRegistry(entry_points=False)
    first, second = _spec("x"), _spec("x")
    registry.add(first)
    registry.add(second)
    assert registry.get("x") is second


def test_plugin_api_version_is_one() -> None:
    assert PLUGIN_API_VERSION == 1
    assert _spec("x").api_version == PLUGIN_API_VERSION


# -- the event observer hook ------------------------------------------------------------------


def test_emit_reaches_observers_and_survives_a_failing_one(
    fake: FakePlugins,
    entry_points: Callable[..., list[int]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry_points(fake.entry_point("bad_observer"), fake.entry_point("observer"))
    registry = PluginRegistry()
    with caplog.at_level(logging.ERROR, logger="voicegw.plugins"):
        registry.emit(CallEvent(kind="ended", call_id="c1", provider="p"))
    assert fake.imported("observer").SEEN == ["c1"]
    assert "event observer bad_observer failed" in caplog.text


# -- the process-wide registry ----------------------------------------------------------------


def test_default_registry_is_one_object_with_the_sandbox() -> None:
    registry = default_registry()
    assert default_registry() is registry
    assert "sandbox" in registry.providers()


def test_importing_voicegw_scans_no_entry_points() -> None:
    code = (
        "import sys, voicegw, voicegw.plugins as p\n"
        "assert p._default is None, 'registry built at import'\n"
        "assert not [m for m in sys.modules if m.startswith('voicegw_')], 'plugin imported'\n"
        "print('ok')\n"
    )
    result = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_entry_point_helper_uses_the_voicegw_group() -> None:
    assert ENTRY_POINT_GROUP == "voicegw.plugins"
    names = {ep.name for ep in plugins_module._entry_points()}
    assert "sandbox" in names
