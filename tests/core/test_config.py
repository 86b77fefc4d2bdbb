"""Configuration: TOML or a mapping → typed settings; every error names its key path.

Values may be secrets, so no error message may echo a value.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import voicegw.sandbox
from voicegw import Config, ProviderPlugin, ProviderSettings, hookimpl, load_config
from voicegw import plugins as plugins_module
from voicegw.config import GatewaySettings, StoreSettings, WebhookSettings, interpolate
from voicegw.errors import ConfigurationError, ValidationError
from voicegw.plugins import ENTRY_POINT_GROUP, PluginRegistry
from voicegw.provider import BaseProvider
from voicegw.sandbox import SandboxSettings

SECRET = "hunter2-Zq9-SECRET"


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not value:
        raise ValidationError(f"{attribute.name} must be non-empty")


@attrs.frozen(kw_only=True)
class Region:
    name: str = "eu"
    port: int = 443


@attrs.frozen(kw_only=True)
class SecretiveSettings(ProviderSettings):
    """A plugin's settings with secrets, as the brief asks plugins to write them."""

    plugin: str = "secretive"
    base_url: str = "https://api.secretive.invalid"
    api_key: str = attrs.field(validator=_non_empty)
    api_secret: str = attrs.field(repr=False, validator=_non_empty)
    pin: int = attrs.field(default=0, repr=False)
    region: Region = attrs.field(factory=Region)


class SecretiveProvider(BaseProvider):
    plugin_name = "secretive"


SECRETIVE = ProviderPlugin(
    name="secretive",
    settings_type=SecretiveSettings,
    factory=SecretiveProvider,
    capabilities=["speech"],
)


class SecretivePlugin:
    @hookimpl
    def voicegw_register_providers(self, registry: PluginRegistry) -> None:
        registry.add(SECRETIVE)


@pytest.fixture
def registry() -> PluginRegistry:
    registry = PluginRegistry(entry_points=False)
    registry.register(voicegw.sandbox)
    registry.register(SecretivePlugin(), name="secretive-plugin")
    return registry


def secretive(**overrides: Any) -> dict[str, Any]:
    return {"plugin": "secretive", "api_key": "key-1", "api_secret": SECRET, **overrides}


def load(data: Mapping[str, Any], registry: PluginRegistry, **env: str) -> Config:
    return load_config(data, registry=registry, environ=env)


def config_error(data: Mapping[str, Any], registry: PluginRegistry, **env: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        load(data, registry, **env)
    message = str(info.value)
    assert SECRET not in message
    return message


# -- what loads -------------------------------------------------------------------------------


def test_no_configuration_means_the_sandbox(registry: PluginRegistry) -> None:
    config = load_config(None, registry=registry)
    assert dict(config.providers) == {"sandbox": SandboxSettings()}
    assert config.gateway.route == ("sandbox",)
    assert config.source == "<defaults>"
    assert config.store == StoreSettings()
    assert config.webhooks == WebhookSettings()


def test_an_empty_providers_table_means_the_sandbox(registry: PluginRegistry) -> None:
    assert list(load({"providers": {}}, registry).providers) == ["sandbox"]


def test_a_mapping_is_typed(registry: PluginRegistry) -> None:
    config = load(
        {
            "gateway": {"route": ["backup", "primary"], "retries": 1, "cooldown": 5},
            "providers": {
                "primary": {"plugin": "sandbox", "price_per_minute": "0.02", "timeout": 5},
                "backup": secretive(rate_limit=2, region={"name": "ap", "port": 8443}),
            },
            "store": {"url": "sqlite:///tmp.db"},
            "webhooks": {"public_url": "https://hooks.example.com", "port": 9000},
        },
        registry,
    )
    assert config.source == "<mapping>"
    assert config.gateway == GatewaySettings(route=("backup", "primary"), retries=1, cooldown=5)
    primary = config.providers["primary"]
    assert isinstance(primary, SandboxSettings)
    assert primary.price_per_minute == Decimal("0.02")
    assert primary.timeout == 5.0
    backup = config.providers["backup"]
    assert isinstance(backup, SecretiveSettings)
    assert backup.region == Region(name="ap", port=8443)
    assert backup.rate_limit == 2
    assert config.store.url == "sqlite:///tmp.db"
    assert config.webhooks.public_url == "https://hooks.example.com"
    assert config.webhooks.port == 9000


def test_route_defaults_to_every_provider_in_order(registry: PluginRegistry) -> None:
    config = load(
        {"providers": {"b": {"plugin": "sandbox"}, "a": secretive(), "c": {"plugin": "sandbox"}}},
        registry,
    )
    assert config.gateway.route == ("b", "a", "c")


def test_gateway_defaults() -> None:
    assert GatewaySettings() == GatewaySettings(
        route=(), retries=2, retry_backoff=0.5, max_retry_wait=30.0, cooldown=60.0
    )


def test_a_toml_file(registry: PluginRegistry, tmp_path: Path) -> None:
    path = tmp_path / "voicegw.toml"
    path.write_text(
        """
[gateway]
route = ["primary", "backup"]      # tried in order
retries = 3

[providers.primary]
plugin = "secretive"
api_key = "${S_KEY}"
api_secret = "${S_SECRET}"
caller_id = "+862000000000"

[providers.primary.region]
name = "cn"

[providers.backup]
plugin = "sandbox"
""",
        encoding="utf-8",
    )
    config = load_config(path, registry=registry, environ={"S_KEY": "k", "S_SECRET": SECRET})
    assert config.source == str(path)
    assert config.gateway.route == ("primary", "backup")
    primary = config.providers["primary"]
    assert isinstance(primary, SecretiveSettings)
    assert (primary.api_key, primary.api_secret, primary.region.name) == ("k", SECRET, "cn")
    assert primary.caller_id == "+862000000000"
    same = load_config(str(path), registry=registry, environ={"S_KEY": "k", "S_SECRET": SECRET})
    assert same.providers == config.providers


def test_environment_defaults_to_os_environ(
    registry: PluginRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VG_TEST_SECRET", SECRET)
    config = load_config(
        {"providers": {"s": secretive(api_secret="${VG_TEST_SECRET}")}}, registry=registry
    )
    assert config.providers["s"].api_secret == SECRET  # type: ignore[attr-defined]


# -- secrets ----------------------------------------------------------------------------------


def test_secrets_stay_out_of_reprs(registry: PluginRegistry) -> None:
    config = load({"providers": {"s": secretive(pin=987654321)}}, registry)
    assert SECRET not in repr(config.providers["s"])
    assert SECRET not in repr(config)
    assert "987654321" not in repr(config)


@pytest.mark.parametrize(
    "overrides",
    [
        {"bogus": 1},
        {"timeout": "fast"},
        {"pin": SECRET},  # a secret of the wrong type
        {"api_key": ""},
        {"region": {"port": SECRET}},
        {"caller_id": "nope"},
    ],
)
def test_secrets_stay_out_of_config_errors(
    registry: PluginRegistry, overrides: dict[str, Any]
) -> None:
    config_error({"providers": {"s": secretive(**overrides)}}, registry)  # asserts no SECRET


# -- error paths: the file ----------------------------------------------------------------------


def test_missing_file(registry: PluginRegistry, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="config file not found: .*nowhere.toml"):
        load_config(tmp_path / "nowhere.toml", registry=registry)


def test_toml_syntax_error(registry: PluginRegistry, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(f'[providers.a]\napi_secret = "{SECRET}"\nplugin = \n', encoding="utf-8")
    with pytest.raises(ConfigurationError) as info:
        load_config(path, registry=registry)
    assert str(info.value).startswith(f"{path}: not valid TOML: ")
    assert "line 3" in str(info.value)
    assert SECRET not in str(info.value)


def test_unreadable_path(registry: PluginRegistry, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="cannot be read"):
        load_config(tmp_path, registry=registry)


# -- error paths: the shape ---------------------------------------------------------------------


def test_unknown_top_level_key(registry: PluginRegistry) -> None:
    message = config_error({"providerz": {}, "extra": 1, "gateway": {}}, registry)
    assert message == (
        "<mapping>: unknown top-level key(s) extra, providerz; "
        "expected gateway, providers, store, webhooks"
    )


@pytest.mark.parametrize("section", ["gateway", "store", "webhooks"])
def test_a_section_that_is_not_a_table(registry: PluginRegistry, section: str) -> None:
    assert config_error({section: "yes"}, registry) == f"{section}: expected a table"


@pytest.mark.parametrize("value", ["sandbox", ["sandbox"], 3])
def test_providers_not_a_table(registry: PluginRegistry, value: Any) -> None:
    message = config_error({"providers": value}, registry)
    assert message == "providers: expected a table of provider tables"


def test_a_provider_that_is_not_a_table(registry: PluginRegistry) -> None:
    assert (
        config_error({"providers": {"a": "sandbox"}}, registry) == "providers.a: expected a table"
    )


@pytest.mark.parametrize("plugin", [None, "", 3])
def test_missing_plugin(registry: PluginRegistry, plugin: Any) -> None:
    settings: dict[str, Any] = {"timeout": 3}
    if plugin is not None:
        settings["plugin"] = plugin
    message = config_error({"providers": {"a": settings}}, registry)
    assert message.startswith("providers.a.plugin: missing; name the plugin")


def test_unknown_plugin_lists_the_installed_ones(registry: PluginRegistry) -> None:
    message = config_error({"providers": {"a": {"plugin": "nexmo"}}}, registry)
    assert message == "providers.a.plugin: unknown plugin 'nexmo'; installed: sandbox, secretive"


def test_unavailable_plugin_gives_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        plugins_module,
        "_entry_points",
        lambda: [
            importlib.metadata.EntryPoint("sandbox", "voicegw.sandbox", ENTRY_POINT_GROUP),
            importlib.metadata.EntryPoint("ghost", "vg_ghost_plugin_zz", ENTRY_POINT_GROUP),
        ],
    )
    registry = PluginRegistry()
    message = config_error({"providers": {"a": {"plugin": "ghost"}}}, registry)
    assert message.startswith("providers.a.plugin: plugin 'ghost' is installed but unavailable")
    assert "failed to import vg_ghost_plugin_zz: ModuleNotFoundError" in message
    assert message.endswith("available: sandbox")


def test_unknown_setting_names_the_key_path(registry: PluginRegistry) -> None:
    message = config_error({"providers": {"a": secretive(api_sekret="x")}}, registry)
    assert message.startswith("providers.a.api_sekret: unknown setting; known settings: ")
    assert "api_secret" in message


def test_unknown_setting_in_a_nested_table_lists_that_tables_settings(
    registry: PluginRegistry,
) -> None:
    message = config_error({"providers": {"a": secretive(region={"zone": "x"})}}, registry)
    assert message == "providers.a.region.zone: unknown setting; known settings: name, port"


@pytest.mark.parametrize("section", ["gateway", "store", "webhooks"])
def test_unknown_setting_in_a_section(registry: PluginRegistry, section: str) -> None:
    message = config_error({section: {"bogus": 1}}, registry)
    assert message.startswith(f"{section}.bogus: unknown setting")


def test_missing_required_setting(registry: PluginRegistry) -> None:
    message = config_error({"providers": {"a": {"plugin": "secretive", "api_key": "k"}}}, registry)
    assert message == "providers.a.api_secret: required setting is missing"


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"providers": {"a": secretive(timeout="fast")}}, "providers.a.timeout", "float"),
        ({"providers": {"a": secretive(pin=SECRET)}}, "providers.a.pin", "int"),
        ({"providers": {"a": secretive(region={"port": "x8"})}}, "providers.a.region.port", "int"),
        ({"gateway": {"retries": "many"}}, "gateway.retries", "int"),
        ({"webhooks": {"port": "eighty"}}, "webhooks.port", "int"),
    ],
)
def test_wrong_type_names_the_path_without_the_value(
    registry: PluginRegistry, data: dict[str, Any], path: str, expected: str
) -> None:
    message = config_error(data, registry)
    assert message == f"{path}: expected {expected}"


def test_several_problems_are_reported_together(registry: PluginRegistry) -> None:
    message = config_error({"providers": {"a": secretive(timeout="x", bogus=1)}}, registry)
    assert "providers.a.timeout: expected float" in message
    assert "providers.a.bogus: unknown setting" in message
    assert "; " in message


def test_a_string_route_is_refused(registry: PluginRegistry) -> None:
    message = config_error(
        {"gateway": {"route": "primary"}, "providers": {"primary": {"plugin": "sandbox"}}}, registry
    )
    assert message.startswith("gateway.route: ")


# -- error paths: validators --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "path", "rule"),
    [
        ({"api_key": ""}, "providers.a.api_key", "must be non-empty"),
        ({"api_secret": ""}, "providers.a.api_secret", "must be non-empty"),
        ({"timeout": -1}, "providers.a.timeout", "must be a number > 0"),
        ({"rate_limit": 0}, "providers.a.rate_limit", "must be a number > 0"),
        ({"caller_id": "12345"}, "providers.a.caller_id", "must be E.164"),
    ],
)
def test_validator_failure_names_the_key_path(
    registry: PluginRegistry, overrides: dict[str, Any], path: str, rule: str
) -> None:
    message = config_error({"providers": {"a": secretive(**overrides)}}, registry)
    assert message.startswith(f"{path}: {rule}")


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ("gateway", "retries"),
        ("gateway", "retry_backoff"),
        ("gateway", "max_retry_wait"),
        ("gateway", "cooldown"),
        ("webhooks", "max_body"),
    ],
)
def test_section_validator_failure_names_the_key_path(
    registry: PluginRegistry, section: str, key: str
) -> None:
    message = config_error({section: {key: -1}}, registry)
    assert message.startswith(f"{section}.{key}: must be ≥ 0")


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ({"gateway": {"retries": True}}, "gateway.retries"),
        ({"gateway": {"cooldown": False}}, "gateway.cooldown"),
        ({"providers": {"a": secretive(timeout=True)}}, "providers.a.timeout"),
        ({"providers": {"a": secretive(rate_limit=True)}}, "providers.a.rate_limit"),
    ],
)
def test_a_boolean_is_not_a_number(
    registry: PluginRegistry, data: dict[str, Any], path: str
) -> None:
    # The validators refuse bools explicitly; conversion must not turn ``true`` into 1 first.
    assert config_error(data, registry).startswith(f"{path}: ")


def test_numbers_may_come_from_the_environment(registry: PluginRegistry) -> None:
    config = load(
        {
            "gateway": {"retries": "${RETRIES}"},
            "providers": {"a": secretive(timeout="${TIMEOUT:-7.5}", rate_limit="${RATE}")},
        },
        registry,
        RETRIES="4",
        RATE="2",
    )
    assert config.gateway.retries == 4
    settings = config.providers["a"]
    assert (settings.timeout, settings.rate_limit) == (7.5, 2.0)


# -- routes -------------------------------------------------------------------------------------


def test_route_naming_an_unconfigured_provider(registry: PluginRegistry) -> None:
    message = config_error(
        {
            "gateway": {"route": ["a", "ghost"]},
            "providers": {"a": {"plugin": "sandbox"}, "b": {"plugin": "sandbox"}},
        },
        registry,
    )
    assert message == "gateway.route[1]: no provider 'ghost'; configured: a, b"


def test_route_listing_a_provider_twice(registry: PluginRegistry) -> None:
    # A second hop on the same provider would be a retry outside the retry budget.
    message = config_error(
        {"gateway": {"route": ["a", "b", "a"]}, "providers": {"a": secretive(), "b": secretive()}},
        registry,
    )
    assert message.startswith("gateway.route[2]: ")
    assert "'a'" in message


def test_route_may_list_a_subset(registry: PluginRegistry) -> None:
    config = load(
        {
            "gateway": {"route": ["b"]},
            "providers": {"a": {"plugin": "sandbox"}, "b": {"plugin": "sandbox"}},
        },
        registry,
    )
    assert config.gateway.route == ("b",)
    assert list(config.providers) == ["a", "b"]


# -- ${ENV} interpolation ----------------------------------------------------------------------


def test_env_reference_is_replaced(registry: PluginRegistry) -> None:
    config = load(
        {"providers": {"a": secretive(api_secret="${S_SECRET}")}}, registry, S_SECRET=SECRET
    )
    assert config.providers["a"].api_secret == SECRET  # type: ignore[attr-defined]


def test_missing_env_names_the_key_and_the_variable(registry: PluginRegistry) -> None:
    message = config_error({"providers": {"a": secretive(api_secret="${S_SECRET}")}}, registry)
    assert message == "providers.a.api_secret: environment variable S_SECRET is not set"


def test_missing_env_in_a_list_names_the_index(registry: PluginRegistry) -> None:
    message = config_error(
        {"gateway": {"route": ["${FIRST}"]}, "providers": {"a": {"plugin": "sandbox"}}}, registry
    )
    assert message == "gateway.route[0]: environment variable FIRST is not set"


def test_env_default(registry: PluginRegistry) -> None:
    data = {"providers": {"a": secretive(api_key="${S_KEY:-fallback-key}")}}
    assert load(data, registry).providers["a"].api_key == "fallback-key"  # type: ignore[attr-defined]
    assert load(data, registry, S_KEY="real").providers["a"].api_key == "real"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "1"}, "1"),
        ("x-${A}-y", {"A": "1"}, "x-1-y"),
        ("${A}${B}", {"A": "1", "B": "2"}, "12"),
        ("${A:-}", {}, ""),
        ("${A:-d e f}", {}, "d e f"),
        ("${A:-d}", {"A": ""}, ""),  # set but empty is still set
        ("$${A}", {}, "${A}"),  # $${ escapes a literal ${
        ("pa$${ss}word", {}, "pa${ss}word"),
        ("$${A}${B}", {"B": "2"}, "${A}2"),
        ("${A}", {"A": "${B}"}, "${B}"),  # values are not expanded again
        ("$A and $", {}, "$A and $"),  # only ${…} is special
        ("${not-a-name}", {}, "${not-a-name}"),
    ],
)
def test_interpolate_strings(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, env) == expected


def test_interpolate_walks_tables_and_lists_and_leaves_other_values() -> None:
    data = {"a": {"b": ["${X}", 3, True, None], "c": 1.5}}
    assert interpolate(data, {"X": "x"}) == {"a": {"b": ["x", 3, True, None], "c": 1.5}}


def test_interpolate_error_paths() -> None:
    with pytest.raises(ConfigurationError, match=r"^a\.b\[1\]: environment variable Y is not set"):
        interpolate({"a": {"b": ["ok", "${Y}"]}}, {})


def test_escaped_reference_reaches_the_settings(registry: PluginRegistry) -> None:
    config = load({"providers": {"a": secretive(api_key="$${KEEP}")}}, registry)
    assert config.providers["a"].api_key == "${KEEP}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [None, True, 1.5, ["x"]])
def test_a_text_setting_refuses_what_is_not_text(registry: PluginRegistry, value: Any) -> None:
    settings = {"plugin": "sandbox", "currency": value}
    message = config_error({"providers": {"a": settings}}, registry)
    assert message == "providers.a.currency: expected str"


def test_a_text_setting_takes_a_whole_number_written_without_quotes(
    registry: PluginRegistry,
) -> None:
    config = load_config(
        {"providers": {"a": {"plugin": "sandbox", "token": 1234}}}, registry=registry
    )
    assert config.providers["a"].token == "1234"  # type: ignore[attr-defined]
