"""The echo provider's settings: the common ones plus the account and its secret.

::

    [providers.echo]
    plugin = "echo"
    account_id = "AC1234"
    api_secret = "${ECHO_API_SECRET}"
    callback_url = "https://hooks.example.com/hooks/echo/record"
"""

from __future__ import annotations

from typing import Any

import attrs
from voicegw.errors import ValidationError
from voicegw.provider import ProviderSettings

__all__ = ["DEFAULT_BASE_URL", "PLUGIN", "EchoSettings"]

#: The plugin's name: its entry-point name and the ``plugin`` value in configuration.
PLUGIN = "echo"
#: Where the provider's API lives.
DEFAULT_BASE_URL = "https://api.echo.example"


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    # The message names the field, never the value: the value may be a secret.
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be a non-empty string")


def _optional_http_url(
    instance: object, attribute: attrs.Attribute[Any], value: str | None
) -> None:
    if value is not None and not (
        isinstance(value, str) and value.startswith(("http://", "https://"))
    ):
        raise ValidationError(f"{attribute.name} must be an http:// or https:// URL")


@attrs.frozen(kw_only=True)
class EchoSettings(ProviderSettings):
    """Settings of the echo provider.

    ``account_id`` and ``api_secret`` sign every request. ``callback_url``, when set, is sent
    with each call: the API pushes the call's final record there, signed with ``api_secret``.
    """

    plugin: str = PLUGIN
    base_url: str = DEFAULT_BASE_URL
    account_id: str = attrs.field(validator=_non_empty)
    api_secret: str = attrs.field(repr=False, validator=_non_empty)
    callback_url: str | None = attrs.field(default=None, validator=_optional_http_url)
