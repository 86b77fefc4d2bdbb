"""The one cattrs converter that turns every model into JSON-ready data and back.

Decimals become strings (never floats), datetimes ISO-8601 strings in UTC, enums their values,
bytes Base64, and prompts carry a ``type`` tag (``speech``, ``template``, ``audio``,
``verification_code``). Plugins may register hooks for their wire classes on it.

>>> from voicegw.models import Money
>>> converter.unstructure(Money("0.5", "USD"))
{'amount': '0.5', 'currency': 'USD'}
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

import cattrs
from cattrs.strategies import configure_tagged_union

from voicegw.models import Audio, Prompt, Speech, Template, VerificationCode

__all__ = ["converter", "dumps_model", "loads_model"]

T = TypeVar("T")

PROMPT_TAGS: dict[type, str] = {
    Speech: "speech",
    Template: "template",
    Audio: "audio",
    VerificationCode: "verification_code",
}


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    else:
        raise ValueError(f"expected an ISO-8601 string, got {type(value).__name__}")
    if parsed.tzinfo is None:
        raise ValueError(f"datetime without a timezone: {value!r}")
    return parsed.astimezone(UTC)


def _structure_decimal(value: Any, _: type) -> Decimal:
    if isinstance(value, float):
        raise ValueError("money amounts are never floats: send them as strings")
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not a decimal: {value!r}") from None


def _structure_bytes(value: Any, _: type) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, TypeError, ValueError):
        raise ValueError("expected Base64 text") from None


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(omit_if_default=False, forbid_extra_keys=False)
    conv.register_unstructure_hook(datetime, lambda d: d.astimezone(UTC).isoformat())
    conv.register_structure_hook(datetime, _structure_datetime)
    conv.register_unstructure_hook(Decimal, str)
    conv.register_structure_hook(Decimal, _structure_decimal)
    conv.register_unstructure_hook(bytes, lambda b: base64.b64encode(b).decode("ascii"))
    conv.register_structure_hook(bytes, _structure_bytes)
    configure_tagged_union(
        Prompt,
        conv,
        tag_name="type",
        tag_generator=lambda cls: PROMPT_TAGS[cls],
    )
    return conv


#: The converter. ``converter.unstructure(record)`` → JSON-ready dict; ``structure`` → model.
converter: cattrs.Converter = _make_converter()


def dumps_model(model: Any) -> str:
    """A model as compact JSON text."""
    return json.dumps(converter.unstructure(model), ensure_ascii=False, separators=(",", ":"))


def loads_model(text: str | bytes, cls: type[T]) -> T:
    """A model of type ``cls`` from JSON text made by :func:`dumps_model`."""
    return converter.structure(json.loads(text), cls)
