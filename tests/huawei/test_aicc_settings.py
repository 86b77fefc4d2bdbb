"""The ``aicc`` settings table: defaults, rules, and secrets kept out of sight."""

from __future__ import annotations

from typing import Any

import attrs
import cattrs
import pytest

from voicegw.errors import ValidationError
from voicegw_huawei.aicc import (
    AICC_CODES,
    DEFAULT_BASE_URL,
    AccessToken,
    AiccClient,
    AiccSettings,
    TokenCache,
)

SECRET = "aicc-Secret-Do-Not-Print-42"


def settings(**overrides: Any) -> AiccSettings:
    values: dict[str, Any] = {"app_key": "aicc-key", "app_secret": SECRET, **overrides}
    return AiccSettings(**values)


def test_defaults_are_the_documented_values() -> None:
    aicc = settings()
    assert aicc.base_url == DEFAULT_BASE_URL == "https://service.besclouds.com"
    assert aicc.token_lifetime == 600
    assert aicc.rate_limit == 10
    assert aicc.review_callback_url is None
    assert aicc.timeout == 60


@pytest.mark.parametrize("lifetime", [60, 600, 3600])
def test_token_lifetime_within_bounds_is_accepted(lifetime: int) -> None:
    assert settings(token_lifetime=lifetime).token_lifetime == lifetime


@pytest.mark.parametrize("lifetime", [3601, 59, 0, -5, True, 600.5, "600"])
def test_token_lifetime_out_of_bounds_is_refused_naming_the_field(lifetime: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(token_lifetime=lifetime)
    assert caught.value.message.split()[0] == "token_lifetime"
    assert "3600" in caught.value.message


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("app_key", ""),
        ("app_secret", "  "),
        ("base_url", "service.besclouds.com"),
        ("review_callback_url", "ftp://hooks.example.org/review"),
        ("rate_limit", 0),
        ("timeout", -1),
    ],
)
def test_bad_values_are_refused_with_the_field_name_first(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as caught:
        settings(**{field: value})
    assert caught.value.message.split()[0] == field


def test_settings_are_frozen_and_keyword_only() -> None:
    aicc = settings()
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        aicc.app_key = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        AiccSettings("https://x.example", "k", SECRET)  # type: ignore[call-arg]


def test_the_secret_is_in_no_repr() -> None:
    aicc = settings()
    client = AiccClient("hw", "huawei", aicc)
    token = AccessToken(value="tok-Very-Secret-77", lifetime=600, obtained_at=0.0)
    for text in (repr(aicc), str(aicc), repr(client), repr(client.tokens), repr(token)):
        assert SECRET not in text
        assert "tok-Very-Secret-77" not in text
    assert "aicc-key" in repr(aicc)


def test_a_bad_secret_value_is_not_echoed() -> None:
    with pytest.raises(ValidationError) as caught:
        settings(app_secret=" ")
    assert "app_secret" in caught.value.message
    assert repr(" ") not in caught.value.message


def test_the_table_structures_from_config_data_and_forbids_unknown_keys() -> None:
    converter = cattrs.Converter(forbid_extra_keys=True)
    table = {
        "base_url": "https://service.besclouds.com:28070",
        "app_key": "k",
        "app_secret": SECRET,
        "token_lifetime": 1200,
        "review_callback_url": "https://hooks.example.org/hooks/hw/review",
    }
    aicc = converter.structure(table, AiccSettings)
    assert aicc.token_lifetime == 1200
    assert aicc.review_callback_url == "https://hooks.example.org/hooks/hw/review"
    with pytest.raises(cattrs.errors.ClassValidationError):
        converter.structure({**table, "tokenLifetime": 5}, AiccSettings)


def test_the_client_owns_one_http_client_per_base_url_and_one_token_cache() -> None:
    client = AiccClient("hw", "huawei", settings(base_url="https://aicc.example:28070/"))
    assert client.http.base_url == "https://aicc.example:28070"
    assert client.http.provider == "hw"
    assert client.http.plugin == "huawei"
    assert isinstance(client.tokens, TokenCache)
    # 10 per second, evenly spaced with a margin: never two within 100 ms.
    assert client.limiter.max_rate == 1
    assert client.limiter.time_period == pytest.approx(0.11)


def test_code_table_names_the_plugin_and_has_a_success_code() -> None:
    assert AICC_CODES.plugin == "huawei"
    assert AICC_CODES.is_success("0")
    assert "HTTP 401" in AICC_CODES.markdown()
