"""Settings of the ``itniotech`` provider: credentials, push token, language overrides.

::

    [providers.backup]
    plugin = "itniotech"
    api_key = "${ITNIO_API_KEY}"
    api_secret = "${ITNIO_API_SECRET}"
    app_id = "${ITNIO_APP_ID}"
    push_token = "${ITNIO_PUSH_TOKEN}"    # the secret part of the push URL you configure

Every validator raises :class:`~voicegw.errors.ValidationError` with the setting's name as the
first word, so configuration errors name the exact key path.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import attrs

from voicegw.errors import ValidationError
from voicegw.provider import ProviderSettings

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_UPLOAD_BYTES",
    "MIN_PUSH_TOKEN_LENGTH",
    "PLUGIN",
    "ItniotechSettings",
]

PLUGIN = "itniotech"
DEFAULT_BASE_URL = "https://api.itniotech.com"
#: The spec does not document an upload limit (UNKNOWN); 10 MiB is the emulator's assumption.
DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: A push token shorter than this is guessable: refuse it.
MIN_PUSH_TOKEN_LENGTH = 16

_TOKEN_CHARS = re.compile(r"^[A-Za-z0-9_\-.~]+$")
_LANGUAGE_TAG = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")
_ITNIO_CODE = re.compile(r"^[A-Z]{2,4}$")


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be a non-empty string")
    if value != value.strip():
        raise ValidationError(f"{attribute.name} must not start or end with whitespace")


def _base_url(instance: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str) or not value.startswith(("https://", "http://")):
        raise ValidationError(f"{attribute.name} must be an http(s) URL, got {value!r}")


def _positive(instance: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or value <= 0
    ):
        raise ValidationError(f"{attribute.name} must be a number > 0, got {value!r}")


def _push_token(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    # Never echo the value: it is a secret.
    if value is None:
        return
    if not isinstance(value, str) or len(value) < MIN_PUSH_TOKEN_LENGTH:
        raise ValidationError(
            f"{attribute.name} must be at least {MIN_PUSH_TOKEN_LENGTH} characters "
            "(an unguessable random string)"
        )
    if not _TOKEN_CHARS.match(value):
        raise ValidationError(
            f"{attribute.name} may hold only URL-safe characters: letters, digits, - _ . ~"
        )


def _language_codes(value: Mapping[str, str] | None) -> Mapping[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValidationError("language_codes must be a table of BCP-47 tag = ITNIO code")
    codes: dict[str, str] = {}
    for tag, code in value.items():
        if not isinstance(tag, str) or not _LANGUAGE_TAG.match(tag.lower()):
            raise ValidationError(f"language_codes keys must be BCP-47 tags, got {tag!r}")
        if not isinstance(code, str) or not _ITNIO_CODE.match(code.upper()):
            raise ValidationError(
                f"language_codes values must be ITNIO codes of 2 to 4 letters, got {code!r}"
            )
        codes[tag.lower()] = code.upper()
    return codes


def _upload_limit(instance: object, attribute: attrs.Attribute[Any], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be a whole number of bytes ≥ 1")


@attrs.frozen(kw_only=True)
class ItniotechSettings(ProviderSettings):
    """Settings of an ITNIO Tech provider.

    * ``api_key`` — the console's "API key" (sent as ``Api-Key``);
    * ``api_secret`` — the console's "API secret" (only used to compute ``Sign``; never sent);
    * ``app_id`` — the voice application id (console → Voice App Management);
    * ``push_token`` — the unguessable token you put in the push URL of the voice application
      (``…/record?token=<push_token>``). ITNIO signs no push; with a token configured, a push
      whose URL does not carry it is refused. None accepts every push (not recommended);
    * ``language_codes`` — extra BCP-47 tag → ITNIO code mappings, merged over the built-in
      table (e.g. ``{"zh" = "ZH"}`` once your account speaks it);
    * ``max_upload_bytes`` — refuse larger audio uploads locally (the real limit is unknown);
    * ``rate_limit`` — requests per second through the gateway; ITNIO documents none for voice,
      so a conservative 10 per second is the default.
    """

    plugin: str = PLUGIN
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, validator=_base_url)
    rate_limit: float | None = attrs.field(default=10.0, validator=_positive)
    api_key: str = attrs.field(validator=_non_empty)
    api_secret: str = attrs.field(repr=False, validator=_non_empty)
    app_id: str = attrs.field(validator=_non_empty)
    push_token: str | None = attrs.field(default=None, repr=False, validator=_push_token)
    language_codes: Mapping[str, str] = attrs.field(factory=dict, converter=_language_codes)
    max_upload_bytes: int = attrs.field(default=DEFAULT_MAX_UPLOAD_BYTES, validator=_upload_limit)
