"""Settings through voicegw's config loader, and the plugin's registration."""

from __future__ import annotations

from typing import Any

import pytest

from voicegw.config import load_config
from voicegw.errors import ConfigurationError, ValidationError
from voicegw.plugins import default_registry
from voicegw.provider import Capability
from voicegw_huawei.aicc import AICC_CODES
from voicegw_huawei.codes import API_CODES
from voicegw_huawei.emulator import HuaweiEmulator
from voicegw_huawei.provider import HuaweiProvider
from voicegw_huawei.settings import DEFAULT_BASE_URL, HuaweiSettings, ProductApp, SpeechTemplate

SECRET = "very-secret-app-secret"


def load(**values: Any) -> HuaweiSettings:
    table: dict[str, Any] = {"plugin": "huawei", "app_key": "key", "app_secret": SECRET}
    table.update(values)
    settings = load_config({"providers": {"hw": table}}).providers["hw"]
    assert isinstance(settings, HuaweiSettings)
    return settings


def test_minimal_settings_and_defaults() -> None:
    settings = load()
    assert (
        settings.base_url == DEFAULT_BASE_URL == "https://rtccall.cn-north-1.myhuaweicloud.cn:443"
    )
    assert settings.push_signature == "any"
    assert settings.created_clock == "utc"
    assert settings.verify_languages == {"zh": 1, "en": 2}
    assert settings.speech_template is None
    assert settings.app_for("verification") == settings.main_app()
    with pytest.raises(ValidationError, match="product"):
        settings.app_for("app_key")


def test_nested_tables() -> None:
    settings = load(
        caller_id="+862000000000",
        speech_template={"template_id": "t1", "max_length": 20, "languages": ["zh", "en-US"]},
        verification={"app_key": "vk", "app_secret": "vs", "caller_id": "+862000000001"},
        push_secrets=["old"],
        verify_languages={"zh-CN": 1},
    )
    assert settings.speech_template == SpeechTemplate(
        template_id="t1", max_length=20, languages=("zh", "en-us")
    )
    assert settings.speech_template.speaks("en-US")
    assert not settings.speech_template.speaks("en")
    assert settings.verification == ProductApp(
        app_key="vk", app_secret="vs", caller_id="+862000000001"
    )
    assert settings.app_for("verification").app_key == "vk"
    assert settings.push_secrets == ("old",)
    assert [app.app_key for app in settings.all_apps()] == ["key", "vk"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"app_secret": None}, "providers.hw.app_secret"),
        ({"app_key": ""}, "providers.hw.app_key"),
        ({"push_signature": "maybe"}, "providers.hw.push_signature"),
        ({"created_clock": "local"}, "providers.hw.created_clock"),
        ({"status_url": "ftp://x"}, "providers.hw.status_url"),
        ({"fee_url": "https://hooks.example.org/" + "x" * 80}, "providers.hw.fee_url"),
        ({"caller_id": "12345"}, "providers.hw.caller_id"),
        ({"colour": "blue"}, "providers.hw.colour"),
        ({"speech_template": {"max_length": 3}}, "providers.hw.speech_template"),
        ({"speech_template": {"template_id": "t", "max_length": 0}}, "max_length"),
        ({"verify_languages": {"zh": "one"}}, "verify_languages"),
        ({"verification": {"app_key": "k", "app_secret": ""}}, "app_secret"),
    ],
)
def test_bad_settings_name_the_key(values: dict[str, Any], message: str) -> None:
    table: dict[str, Any] = {"plugin": "huawei", "app_key": "key", "app_secret": SECRET}
    table.update(values)
    table = {k: v for k, v in table.items() if v is not None}
    with pytest.raises(ConfigurationError, match=message.replace(".", r"\.")) as caught:
        load_config({"providers": {"hw": table}})
    assert SECRET not in str(caught.value)


def test_secrets_come_from_the_environment_and_never_show() -> None:
    config = load_config(
        {"providers": {"hw": {"plugin": "huawei", "app_key": "k", "app_secret": "${HW_SECRET}"}}},
        environ={"HW_SECRET": SECRET},
    )
    settings = config.providers["hw"]
    assert isinstance(settings, HuaweiSettings)
    assert settings.app_secret == SECRET
    assert SECRET not in repr(config)
    provider = HuaweiProvider("hw", settings)
    assert SECRET not in repr(provider)


def test_the_plugin_is_registered() -> None:
    spec = default_registry().get("huawei")
    assert spec.settings_type is HuaweiSettings
    assert spec.emulator is HuaweiEmulator
    assert spec.codes["api"] is API_CODES
    assert spec.codes["aicc"] is AICC_CODES
    assert Capability.RECORD_QUERY not in spec.capabilities
    assert {
        Capability.SPEECH,
        Capability.TEMPLATE,
        Capability.AUDIO,
        Capability.VERIFICATION_CODE,
        Capability.COLLECT_DIGITS,
        Capability.HANGUP,
        Capability.CLICK_TO_CALL,
        Capability.STATUS_PUSH,
        Capability.RECORD_PUSH,
        Capability.AUDIO_UPLOAD,
    } <= spec.capabilities
    provider = spec.factory("hw", load())
    assert isinstance(provider, HuaweiProvider)
    assert provider.capabilities <= spec.capabilities


def test_the_package_version_is_the_metadata_version() -> None:
    import importlib.metadata

    import voicegw_huawei

    assert voicegw_huawei.__version__ == importlib.metadata.version("voicegw-huawei")
