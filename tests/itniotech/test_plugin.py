"""Settings, registration through the entry point, and secrets that never show."""

from __future__ import annotations

import logging
import pathlib
from typing import Any

import pytest
from aioresponses import aioresponses

import voicegw_itniotech
from voicegw.config import load_config
from voicegw.errors import AuthenticationError, ConfigurationError, ValidationError
from voicegw.gateway import VoiceGateway
from voicegw.models import Speech, VoiceNotification
from voicegw.plugins import default_registry
from voicegw.provider import Capability
from voicegw_itniotech.emulator import ItnioEmulator
from voicegw_itniotech.provider import ItniotechProvider
from voicegw_itniotech.settings import DEFAULT_BASE_URL, ItniotechSettings

from .samples import API_SECRET, BASE, PUSH_TOKEN, envelope, make_settings


def test_registered_through_the_entry_point() -> None:
    spec = default_registry().get("itniotech")
    assert spec.name == "itniotech"
    assert spec.settings_type is ItniotechSettings
    assert spec.emulator is ItnioEmulator
    assert set(spec.codes) == {"api"}
    assert spec.capabilities == {
        Capability.SPEECH,
        Capability.AUDIO,
        Capability.VERIFICATION_CODE,
        Capability.RECORD_QUERY,
        Capability.RECORD_SEARCH,
        Capability.RECORD_PUSH,
        Capability.AUDIO_UPLOAD,
    }
    for missing in (
        Capability.TEMPLATE,
        Capability.COLLECT_DIGITS,
        Capability.HANGUP,
        Capability.CLICK_TO_CALL,
        Capability.STATUS_PUSH,
    ):
        assert missing not in spec.capabilities
    provider = spec.factory("itn", make_settings())
    assert isinstance(provider, ItniotechProvider)
    assert provider.capabilities == spec.capabilities


def test_the_plugin_depends_on_core_alone() -> None:
    package = pathlib.Path(voicegw_itniotech.__file__).parent
    for source in package.glob("*.py"):
        assert "voicegw_huawei" not in source.read_text(), source.name


def test_settings_from_a_config_mapping() -> None:
    config = load_config(
        {
            "providers": {
                "backup": {
                    "plugin": "itniotech",
                    "api_key": "${ITNIO_KEY}",
                    "api_secret": "${ITNIO_SECRET}",
                    "app_id": "4luaKsL2",
                    "push_token": PUSH_TOKEN,
                    "language_codes": {"zh-CN": "zh"},
                }
            }
        },
        environ={"ITNIO_KEY": "bDqJFiq9", "ITNIO_SECRET": API_SECRET},
    )
    settings = config.providers["backup"]
    assert isinstance(settings, ItniotechSettings)
    assert settings.base_url == DEFAULT_BASE_URL == "https://api.itniotech.com"
    assert settings.api_secret == API_SECRET
    assert settings.timeout == 30.0
    assert settings.rate_limit == 10.0
    assert settings.language_codes == {"zh-cn": "ZH"}
    assert API_SECRET not in repr(config)
    assert PUSH_TOKEN not in repr(config)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"api_key": ""}, "providers.backup.api_key"),
        ({"api_secret": " padded "}, "providers.backup.api_secret"),
        ({"app_id": " "}, "providers.backup.app_id"),
        ({"push_token": "short"}, "providers.backup.push_token"),
        ({"push_token": "x" * 20 + "/?"}, "providers.backup.push_token"),
        ({"base_url": "ftp://x"}, "providers.backup.base_url"),
        ({"rate_limit": 0}, "providers.backup.rate_limit"),
        ({"language_codes": {"zh": "chinese"}}, "providers.backup"),
        ({"max_upload_bytes": 0}, "providers.backup.max_upload_bytes"),
        ({"caller_id": "12345"}, "providers.backup.caller_id"),
        ({"apikey": "typo"}, "providers.backup.apikey"),
    ],
)
def test_config_errors_name_the_key_path(settings: dict[str, Any], message: str) -> None:
    table = {"plugin": "itniotech", "api_key": "k", "api_secret": API_SECRET, "app_id": "a"}
    table.update(settings)
    with pytest.raises(ConfigurationError) as caught:
        load_config({"providers": {"backup": table}})
    assert message in str(caught.value)
    assert API_SECRET not in str(caught.value)


def test_secrets_never_show_in_reprs() -> None:
    settings = make_settings(push_token=PUSH_TOKEN)
    provider = ItniotechProvider("itn", settings)
    for text in (repr(settings), str(settings), repr(provider)):
        assert API_SECRET not in text
        assert PUSH_TOKEN not in text
    with pytest.raises(ValidationError) as caught:
        make_settings(api_secret="")
    assert "api_secret" in str(caught.value)


async def test_secrets_never_show_in_errors_or_logs(
    mocked: aioresponses, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    gateway = VoiceGateway.from_config(
        {
            "providers": {
                "itn": {
                    "plugin": "itniotech",
                    "api_key": "k",
                    "api_secret": API_SECRET,
                    "app_id": "a",
                }
            },
            "gateway": {"retries": 0},
        }
    )
    mocked.post(f"{BASE}/voice/sendCode", payload=envelope(status="-1", reason="auth error"))
    async with gateway:
        with pytest.raises(AuthenticationError) as caught:
            await gateway.send(VoiceNotification("+84912345678", [Speech("hi", "en")]))
    for text in (str(caught.value), repr(caught.value), caplog.text, repr(gateway.config)):
        assert API_SECRET not in text
    assert caught.value.code == "-1"
    assert caught.value.call_placed is False


async def test_the_gateway_refuses_what_the_plugin_cannot_do(mocked: aioresponses) -> None:
    from voicegw.errors import UnsupportedFeature
    from voicegw.models import DigitCollection, Template

    gateway = VoiceGateway.from_config(
        {
            "providers": {
                "itn": {"plugin": "itniotech", "api_key": "k", "api_secret": "s", "app_id": "a"}
            }
        }
    )
    async with gateway:
        for bad in (
            VoiceNotification("+84912345678", [Template("t")]),
            VoiceNotification("+84912345678", [Speech("x")], collect=DigitCollection()),
        ):
            with pytest.raises(UnsupportedFeature):
                await gateway.send(bad)
        with pytest.raises(UnsupportedFeature):
            await gateway.hangup("1", provider="itn")
    assert not mocked.requests


def test_the_package_version_is_the_metadata_version() -> None:
    import importlib.metadata

    import voicegw_itniotech

    assert voicegw_itniotech.__version__ == importlib.metadata.version("voicegw-itniotech")
