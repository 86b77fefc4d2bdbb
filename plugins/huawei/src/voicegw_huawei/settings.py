"""Settings of the Huawei provider (``[providers.X]`` with ``plugin = "huawei"``).

::

    [providers.huawei]
    plugin = "huawei"
    base_url = "https://rtccall.cn-north-1.myhuaweicloud.cn:443"   # the app access address
    app_key = "${HUAWEI_APP_KEY}"
    app_secret = "${HUAWEI_APP_SECRET}"
    caller_id = "+862000000000"                 # the app's display number
    verify_pre_tone = "code_intro.wav"          # approved file played before a code
    status_url = "https://hooks.example.org/hooks/huawei/status"
    fee_url = "https://hooks.example.org/hooks/huawei/record"

    [providers.huawei.speech_template]          # makes Speech prompts possible
    template_id = "7d2a1c0e9f8b4a6c"            # an approved template: 通知：${TXT_32}
    max_length = 32

    [providers.huawei.verification]             # the verification-code app, if separate
    app_key = "${HUAWEI_VERIFY_KEY}"
    app_secret = "${HUAWEI_VERIFY_SECRET}"

Every validator raises :class:`~voicegw.errors.ValidationError` whose message starts with the
field name, so configuration errors name the key path.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any

import attrs

from voicegw.errors import ValidationError
from voicegw.models import normalize_e164
from voicegw.provider import ProviderSettings
from voicegw_huawei.aicc import AiccSettings

__all__ = [
    "DEFAULT_BASE_URL",
    "PUSH_SIGNATURE_MODES",
    "HuaweiSettings",
    "ProductApp",
    "SpeechTemplate",
]

PLUGIN = "huawei"
DEFAULT_BASE_URL = "https://rtccall.cn-north-1.myhuaweicloud.cn:443"
#: ``any``: accept either documented push signature; ``newline``/``plain``: only that one;
#: ``off``: do not verify pushes (logged as a warning).
PUSH_SIGNATURE_MODES = ("any", "newline", "plain", "off")
CREATED_CLOCKS = ("utc", "beijing")
#: The products that may run under an app of their own.
PRODUCTS = ("notification", "verification", "click_to_call")
#: Huawei's limit on one template variable value, in UTF-8 bytes (spec §5.4).
VARIABLE_MAX_BYTES = 32
#: ``statusUrl`` / ``feeUrl`` travel Base64-encoded in at most 128 characters.
PUSH_URL_MAX_B64 = 128

_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _non_empty(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be a non-empty string")


def _optional_non_empty(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None:
        _non_empty(instance, attribute, value)


def _optional_e164(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        normalize_e164(value, field=attribute.name)


def _optional_http_url(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise ValidationError(f"{attribute.name} must be an http(s) URL")


def _push_url(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    _optional_http_url(instance, attribute, value)
    if value is not None and len(base64.b64encode(value.encode())) > PUSH_URL_MAX_B64:
        raise ValidationError(
            f"{attribute.name} is too long: Huawei takes at most {PUSH_URL_MAX_B64} characters "
            "of Base64, a URL of at most 96 bytes"
        )


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be a whole number ≥ 1")


def _languages(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError("languages must be a list of BCP-47 tags") from None
    for item in items:
        if not isinstance(item, str) or not _LANGUAGE.match(item):
            raise ValidationError("languages must be a list of BCP-47 tags such as 'zh' or 'en'")
    return tuple(item.lower() for item in items)


def _secrets(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    try:
        items = tuple(value)
    except TypeError:
        raise ValidationError("push_secrets must be a list of strings") from None
    if not all(isinstance(item, str) and item for item in items):
        raise ValidationError("push_secrets must be a list of non-empty strings")
    return items


def _verify_languages(value: Any) -> dict[str, int]:
    if not isinstance(value, Mapping):
        raise ValidationError("verify_languages must map language tags to languageType numbers")
    result: dict[str, int] = {}
    for key, number in value.items():
        if not isinstance(key, str) or not _LANGUAGE.match(key):
            raise ValidationError("verify_languages keys must be BCP-47 tags such as 'zh'")
        if isinstance(number, bool) or not isinstance(number, int):
            raise ValidationError("verify_languages values must be whole numbers")
        result[key.lower()] = number
    return result


def _choice(choices: tuple[str, ...]) -> Any:
    def check(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value not in choices:
            raise ValidationError(f"{attribute.name} must be one of {', '.join(choices)}")

    return check


@attrs.frozen(kw_only=True)
class ProductApp:
    """A separate Huawei app for one product (each product can have its own APP_Key).

    ``caller_id`` is that app's display number; ``base_url`` its access address, when they
    differ from the main settings.
    """

    app_key: str = attrs.field(validator=_non_empty)
    app_secret: str = attrs.field(repr=False, validator=_non_empty)
    caller_id: str | None = attrs.field(default=None, validator=_optional_e164)
    base_url: str | None = attrs.field(default=None, validator=_optional_http_url)


@attrs.frozen(kw_only=True)
class SpeechTemplate:
    """An approved TTS template with exactly one text variable, used to speak free text.

    Huawei cannot speak free text: a ``Speech`` prompt becomes this template with the text in
    its variable, split into as many play items as needed (at most 5 per call). ``max_length``
    is the ``n`` of the template's ``${TXT_n}``; ``max_bytes`` Huawei's limit per variable
    value (32 bytes of UTF-8). ``languages`` are the tags a ``Speech`` may carry (matched on
    the primary subtag: ``zh`` covers ``zh-CN``); Huawei's TTS voice reads Chinese, so that
    is the default.
    """

    template_id: str = attrs.field(validator=_non_empty)
    max_length: int = attrs.field(default=VARIABLE_MAX_BYTES, validator=_positive_int)
    max_bytes: int = attrs.field(default=VARIABLE_MAX_BYTES, validator=_positive_int)
    languages: tuple[str, ...] = attrs.field(default=("zh",), converter=_languages)

    def speaks(self, language: str) -> bool:
        """True when a ``Speech`` in ``language`` may be read with this template."""
        tag = language.lower()
        return tag in self.languages or tag.split("-")[0] in self.languages


@attrs.frozen(kw_only=True)
class HuaweiSettings(ProviderSettings):
    """Settings of the Huawei Voice Call provider.

    * ``app_key`` / ``app_secret`` — the app's APP_Key and APP_Secret; ``base_url`` its
      access address ("APP接入地址"); ``caller_id`` its display number.
    * ``notification`` / ``verification`` / ``click_to_call`` — a separate app per product,
      when the console has one (otherwise the main app serves all three).
    * ``verify_pre_tone`` — the approved voice file played before a verification code;
      without it (and without an ``Audio`` before the code) codes cannot be sent.
    * ``verify_languages`` — language tag → ``languageType`` (values unverified: 1 Chinese,
      2 English).
    * ``speech_template`` — makes ``Speech`` prompts possible (see :class:`SpeechTemplate`).
    * ``status_url`` / ``fee_url`` — push addresses sent with every call (Base64); leave them
      unset to use the addresses configured in Huawei's console.
    * ``push_signature`` — how pushes are verified: ``any`` (either documented variant),
      ``newline``, ``plain``, or ``off``. ``push_secrets`` — more secrets accepted on pushes
      (old secrets during a rotation).
    * ``created_clock`` — ``utc`` (default) or ``beijing``: the clock of the request ``Created``.
    * ``aicc`` — Huawei AICC credentials for uploading voice files (see
      :class:`~voicegw_huawei.aicc.AiccSettings`); makes ``upload_audio`` possible.
    """

    plugin: str = PLUGIN
    base_url: str = attrs.field(default=DEFAULT_BASE_URL, validator=_optional_http_url)
    app_key: str = attrs.field(validator=_non_empty)
    app_secret: str = attrs.field(repr=False, validator=_non_empty)
    notification: ProductApp | None = None
    verification: ProductApp | None = None
    click_to_call: ProductApp | None = None
    verify_pre_tone: str | None = attrs.field(default=None, validator=_optional_non_empty)
    verify_languages: Mapping[str, int] = attrs.field(
        factory=lambda: {"zh": 1, "en": 2}, converter=_verify_languages
    )
    speech_template: SpeechTemplate | None = None
    status_url: str | None = attrs.field(default=None, validator=_push_url)
    fee_url: str | None = attrs.field(default=None, validator=_push_url)
    push_signature: str = attrs.field(default="any", validator=_choice(PUSH_SIGNATURE_MODES))
    push_secrets: tuple[str, ...] = attrs.field(default=(), repr=False, converter=_secrets)
    created_clock: str = attrs.field(default="utc", validator=_choice(CREATED_CLOCKS))
    aicc: AiccSettings | None = None

    def main_app(self) -> ProductApp:
        """The main app's credentials as a :class:`ProductApp`."""
        return ProductApp(
            app_key=self.app_key,
            app_secret=self.app_secret,
            caller_id=self.caller_id,
            base_url=None,
        )

    def app_for(self, product: str) -> ProductApp:
        """The app serving ``product``: ``notification``, ``verification`` or ``click_to_call``."""
        if product not in PRODUCTS:
            raise ValidationError(f"product must be one of {', '.join(PRODUCTS)}")
        app: ProductApp | None = getattr(self, product)
        return app if app is not None else self.main_app()

    def all_apps(self) -> list[ProductApp]:
        """Every configured app, the main one first."""
        apps = [self.main_app()]
        for product in PRODUCTS:
            app = getattr(self, product)
            if app is not None:
                apps.append(app)
        return apps
