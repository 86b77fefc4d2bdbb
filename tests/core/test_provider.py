"""What a provider is: Capability, ProviderSettings, BaseProvider defaults, ProviderPlugin."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from voicegw import (
    AudioUpload,
    BaseProvider,
    Capability,
    ClickToCall,
    HttpProvider,
    ProviderPlugin,
    ProviderSettings,
    Speech,
    UnsupportedFeature,
    ValidationError,
    VoiceNotification,
    VoiceProvider,
    WebhookReply,
)
from voicegw.sandbox import SandboxProvider, SandboxSettings

NOW = datetime(2026, 1, 2, tzinfo=UTC)


class Minimal(BaseProvider):
    plugin_name = "minimal"
    capabilities = frozenset({Capability.SPEECH})


def test_capabilities_name_what_providers_do() -> None:
    assert {c.value for c in Capability} == {
        "speech",
        "template",
        "audio",
        "verification_code",
        "collect_digits",
        "hangup",
        "click_to_call",
        "record_query",
        "record_search",
        "status_push",
        "record_push",
        "audio_upload",
    }


# -- settings ---------------------------------------------------------------------------------


def test_settings_defaults() -> None:
    settings = ProviderSettings(plugin="x")
    assert (settings.base_url, settings.timeout, settings.rate_limit, settings.caller_id) == (
        "",
        30.0,
        None,
        None,
    )


def test_settings_are_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        ProviderSettings("x")  # type: ignore[misc]
    settings = ProviderSettings(plugin="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        settings.timeout = 3  # type: ignore[misc]


@pytest.mark.parametrize("field", ["timeout", "rate_limit"])
@pytest.mark.parametrize("value", [0, -1, True])
def test_settings_refuse_non_positive_numbers(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"^{field} must be a number > 0"):
        ProviderSettings(plugin="x", **{field: value})


def test_settings_accept_fractional_rates_and_timeouts() -> None:
    settings = ProviderSettings(plugin="x", timeout=0.5, rate_limit=0.2)
    assert (settings.timeout, settings.rate_limit) == (0.5, 0.2)


def test_settings_check_the_caller_id() -> None:
    assert ProviderSettings(plugin="x", caller_id="+84912345678").caller_id == "+84912345678"
    with pytest.raises(ValidationError, match="^caller_id must be E.164"):
        ProviderSettings(plugin="x", caller_id="0912345678")


def test_settings_store_the_caller_id_in_e164_form() -> None:
    # Like VoiceNotification.caller_id: formatting is tolerated, E.164 is what providers get.
    assert ProviderSettings(plugin="x", caller_id="+84 912-345-678").caller_id == "+84912345678"


def test_secret_settings_stay_out_of_repr() -> None:
    @attrs.frozen(kw_only=True)
    class Secretive(ProviderSettings):
        plugin: str = "secretive"
        api_secret: str = attrs.field(repr=False)

    settings = Secretive(api_secret="s3cr3t-value")
    assert "s3cr3t-value" not in repr(settings)
    assert "s3cr3t-value" not in str(settings)
    provider = Minimal("p", settings)
    assert "s3cr3t-value" not in repr(provider)


# -- BaseProvider -----------------------------------------------------------------------------


def test_base_provider_takes_name_and_settings() -> None:
    settings = ProviderSettings(plugin="other")
    provider = Minimal("primary", settings)
    assert (provider.name, provider.plugin, provider.settings) == ("primary", "minimal", settings)
    assert repr(provider) == "<Minimal 'primary' plugin='minimal'>"


def test_plugin_falls_back_to_the_settings() -> None:
    assert BaseProvider("p", ProviderSettings(plugin="fromsettings")).plugin == "fromsettings"


def test_base_provider_meets_the_protocol() -> None:
    assert isinstance(Minimal("p", ProviderSettings(plugin="x")), VoiceProvider)
    assert isinstance(SandboxProvider("s", SandboxSettings()), VoiceProvider)
    assert not isinstance(object(), VoiceProvider)


async def test_base_provider_refuses_what_it_cannot_do() -> None:
    provider = Minimal("primary", ProviderSettings(plugin="minimal"))
    notification = VoiceNotification("+8613800000100", [Speech("hi")])
    calls = [
        (provider.send(notification), "send voice notifications"),
        (provider.connect(ClickToCall(caller="+84912345678", callee="+8613800000100")), "click"),
        (provider.get_record("c1"), "be queried for records"),
        (provider.hangup("c1"), "hang up calls"),
        (provider.upload_audio(AudioUpload(data=b"x", filename="a.wav")), "hold uploaded audio"),
    ]
    for coro, fragment in calls:
        with pytest.raises(UnsupportedFeature, match=fragment) as info:
            await coro
        assert (info.value.provider, info.value.plugin) == ("primary", "minimal")
        assert info.value.call_placed is False
    with pytest.raises(UnsupportedFeature, match="list records by time range"):
        provider.iter_records(NOW, NOW)
    with pytest.raises(UnsupportedFeature, match="send 'status' pushes"):
        provider.parse_webhook("status", {}, b"{}", "http://h/hooks/p/status")
    assert await provider.aclose() is None


def test_require_checks_capabilities() -> None:
    provider = Minimal("p", ProviderSettings(plugin="minimal"))
    provider.require(Capability.SPEECH)
    with pytest.raises(UnsupportedFeature) as info:
        provider.require(Capability.COLLECT_DIGITS)
    assert info.value.message == "minimal cannot collect digits"
    with pytest.raises(UnsupportedFeature, match="cannot play a tune"):
        provider.require(Capability.AUDIO, "play a tune")


def test_unsupported_builds_the_error() -> None:
    error = Minimal("p", ProviderSettings(plugin="minimal")).unsupported("fly")
    assert isinstance(error, UnsupportedFeature)
    assert error.message == "minimal cannot fly"


def test_default_webhook_reply() -> None:
    provider = Minimal("p", ProviderSettings(plugin="minimal"))
    assert provider.webhook_reply("status", accepted=True) == WebhookReply(200, b"OK")
    refused = provider.webhook_reply("status", accepted=False)
    assert refused.status >= 500
    assert BaseProvider.webhook_kinds == frozenset()


def test_webhook_reply_defaults() -> None:
    assert WebhookReply() == WebhookReply(status=200, body=b"", content_type="text/plain")


# -- ProviderPlugin ---------------------------------------------------------------------------


def test_provider_plugin_converts_capabilities() -> None:
    spec = ProviderPlugin(
        name="x",
        settings_type=ProviderSettings,
        factory=Minimal,
        capabilities=["speech", Capability.HANGUP],
    )
    assert spec.capabilities == frozenset({Capability.SPEECH, Capability.HANGUP})
    assert (spec.emulator, dict(spec.codes), spec.description) == (None, {}, "")


def test_provider_plugin_refuses_unknown_capabilities() -> None:
    with pytest.raises(ValueError, match="teleport"):
        ProviderPlugin(
            name="x", settings_type=ProviderSettings, factory=Minimal, capabilities=["teleport"]
        )


def test_provider_plugin_factory_builds_a_provider() -> None:
    spec = ProviderPlugin(
        name="minimal", settings_type=ProviderSettings, factory=Minimal, capabilities=["speech"]
    )
    provider = spec.factory("primary", ProviderSettings(plugin="minimal"))
    assert provider.name == "primary"
    assert provider.capabilities == spec.capabilities


def test_local_names_the_provider_on_the_error_a_step_raises() -> None:
    provider = BaseProvider("p1", ProviderSettings(plugin="minimal"))

    def step(value: int) -> int:
        if value < 0:
            raise ValidationError("value must be ≥ 0")
        return value * 2

    assert provider.local(step, 4) == 8
    with pytest.raises(ValidationError) as caught:
        provider.local(step, -1)
    assert (caught.value.provider, caught.value.plugin) == ("p1", "minimal")


async def test_an_http_provider_owns_its_session_and_closes_it() -> None:
    settings = ProviderSettings(plugin="minimal", base_url="http://127.0.0.1:9/api/", timeout=2.5)
    provider = HttpProvider("p1", settings)
    assert provider.http.url("calls") == "http://127.0.0.1:9/api/calls"
    assert provider.http.timeout.total == 2.5
    assert (provider.http.provider, provider.http.plugin) == ("p1", "minimal")
    session = provider.http.session
    await provider.aclose()
    assert session.closed


async def test_an_http_provider_leaves_a_shared_session_open() -> None:
    import aiohttp

    async with aiohttp.ClientSession() as shared:
        provider = HttpProvider("p1", ProviderSettings(plugin="minimal"), session=shared)
        assert provider.http.session is shared
        await provider.aclose()
        assert not shared.closed
