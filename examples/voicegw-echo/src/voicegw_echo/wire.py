"""The echo API's JSON shapes, as pure functions: notification → request, call → record.

A call is placed with ``POST /v1/calls``::

    {"to": "+447700900123", "from": "+447700900999", "repeat": 1, "ref": "order-42",
     "say": [{"type": "text", "text": "Your code is", "lang": "en-US"},
             {"type": "digits", "digits": "583021", "lang": "en-US"}],
     "collect": {"max_digits": 1, "timeout": 5},
     "callback_url": "https://hooks.example.com/hooks/echo/record"}

and answered ``201`` with the call object, which ``GET /v1/calls/{id}`` returns as the call
goes on and the final push carries as ``{"event": "call.ended", "call": {…}}``::

    {"id": "CA5f0c…", "status": "completed", "to": "+447700900123", "from": null,
     "ref": "order-42", "created_at": "2024-05-01T12:00:00Z", "ringing_at": "…",
     "answered_at": "…", "ended_at": "…", "duration": 12, "sip_code": 200,
     "price": "0.0100", "currency": "USD", "digits": "1"}

Everything here takes plain data and returns plain data or raises a
:class:`~voicegw.errors.VoiceError`: no network, no clock.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs
from voicegw.causes import from_sip
from voicegw.errors import InvalidRequest, UnsupportedFeature, ValidationError
from voicegw.models import (
    CallEvent,
    CallRecord,
    CallStatus,
    EventKind,
    HangupCategory,
    HangupCause,
    Money,
    Prompt,
    Speech,
    VerificationCode,
    VoiceNotification,
)

from voicegw_echo.settings import PLUGIN, EchoSettings

__all__ = [
    "CALLS_PATH",
    "LANGUAGES",
    "MAX_TEXT",
    "STATUSES",
    "WireRequest",
    "build_call",
    "call_id_from",
    "call_path",
    "decode",
    "encode_body",
    "events_from_push",
    "record_from_wire",
    "refusal_from",
]

CALLS_PATH = "/v1/calls"
#: Characters of text in one spoken prompt.
MAX_TEXT = 1000
MAX_REPEAT = 3
MAX_REFERENCE = 256
_CALL_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

#: BCP-47 tag (lower case) → the API's voice language. Anything else is refused locally.
LANGUAGES: Mapping[str, str] = {
    "en": "en-US",
    "en-us": "en-US",
    "en-gb": "en-GB",
    "de": "de-DE",
    "de-de": "de-DE",
    "es": "es-ES",
    "es-es": "es-ES",
    "fr": "fr-FR",
    "fr-fr": "fr-FR",
    "vi": "vi-VN",
    "vi-vn": "vi-VN",
}

#: The API's call statuses → voicegw's.
STATUSES: Mapping[str, CallStatus] = {
    "queued": CallStatus.QUEUED,
    "ringing": CallStatus.RINGING,
    "in-progress": CallStatus.IN_PROGRESS,
    "completed": CallStatus.COMPLETED,
    "busy": CallStatus.BUSY,
    "no-answer": CallStatus.NO_ANSWER,
    "rejected": CallStatus.REJECTED,
    "failed": CallStatus.FAILED,
    "canceled": CallStatus.CANCELED,
}

#: A pushed call's status → the event it reports.
_EVENT_KINDS: Mapping[CallStatus, EventKind] = {
    CallStatus.QUEUED: EventKind.INITIATED,
    CallStatus.RINGING: EventKind.RINGING,
    CallStatus.IN_PROGRESS: EventKind.ANSWERED,
}


@attrs.frozen
class WireRequest:
    """One request to the API: method, path (under ``base_url``) and JSON body."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None


def encode_body(body: Mapping[str, Any] | None) -> bytes:
    """The bytes a JSON body goes out as: what :class:`voicegw.http.ProviderHttp` sends."""
    if body is None:
        return b""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


# -- requests ----------------------------------------------------------------------------


def language_for(tag: str, *, field: str) -> str:
    """The API's language for BCP-47 ``tag``; :class:`UnsupportedFeature` if it has none."""
    try:
        return LANGUAGES[tag.lower()]
    except KeyError:
        supported = ", ".join(sorted({tag for tag in LANGUAGES if "-" not in tag}))
        raise UnsupportedFeature(
            f"{field}: {PLUGIN} cannot speak {tag!r} (supported: {supported})"
        ) from None


def say_items(prompts: Sequence[Prompt]) -> list[dict[str, str]]:
    """The ``say`` list for ``prompts``: text is spoken, verification codes digit by digit."""
    items: list[dict[str, str]] = []
    for index, prompt in enumerate(prompts):
        field = f"prompts[{index}]"
        if isinstance(prompt, Speech):
            if len(prompt.text) > MAX_TEXT:
                raise ValidationError(
                    f"{field}.text: at most {MAX_TEXT} characters, got {len(prompt.text)}"
                )
            lang = language_for(prompt.language, field=f"{field}.language")
            items.append({"type": "text", "text": prompt.text, "lang": lang})
        elif isinstance(prompt, VerificationCode):
            lang = language_for(prompt.language, field=f"{field}.language")
            items.append({"type": "digits", "digits": prompt.digits, "lang": lang})
        else:
            raise UnsupportedFeature(f"{field}: {PLUGIN} cannot play {type(prompt).__name__}")
    return items


def build_call(notification: VoiceNotification, settings: EchoSettings) -> WireRequest:
    """``POST /v1/calls`` for ``notification``; :class:`ValidationError` before anything is sent."""
    body: dict[str, Any] = {"to": notification.to, "say": say_items(notification.prompts)}
    if notification.repeat > MAX_REPEAT:
        raise ValidationError(f"repeat: at most {MAX_REPEAT}, got {notification.repeat}")
    body["repeat"] = notification.repeat
    caller_id = notification.caller_id or settings.caller_id
    if caller_id is not None:
        body["from"] = caller_id
    if notification.collect is not None:
        collect: dict[str, Any] = {
            "max_digits": notification.collect.max_digits,
            "timeout": notification.collect.timeout,
        }
        if notification.collect.end_key is not None:
            collect["end_key"] = notification.collect.end_key
        body["collect"] = collect
    if notification.ring_timeout is not None:
        body["ring_timeout"] = notification.ring_timeout
    if notification.max_duration is not None:
        body["max_duration"] = notification.max_duration
    if notification.reference is not None:
        if len(notification.reference) > MAX_REFERENCE:
            raise ValidationError(f"reference: at most {MAX_REFERENCE} characters for {PLUGIN}")
        body["ref"] = notification.reference
    if settings.callback_url is not None:
        body["callback_url"] = settings.callback_url
    for key, value in notification.options.items():
        if key in body:
            raise ValidationError(f"options.{key}: would replace a field voicegw sets")
        body[key] = value
    return WireRequest("POST", CALLS_PATH, body)


def call_path(call_id: str, action: str = "") -> str:
    """The path of one call (``/v1/calls/{id}``), or of an action on it (``…/hangup``)."""
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise ValidationError("call_id must be 1 to 64 letters, digits, '.', '_' or '-'")
    return f"{CALLS_PATH}/{call_id}" + (f"/{action}" if action else "")


# -- answers -----------------------------------------------------------------------------


def decode(body: bytes) -> Any:
    """The JSON in ``body`` (numbers with a fraction as ``Decimal``); None when it is not JSON."""
    try:
        return json.loads(body.decode("utf-8"), parse_float=Decimal)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def refusal_from(body: bytes) -> tuple[str, str] | None:
    """``(code, message)`` of an error envelope; None when ``body`` is not one."""
    data = decode(body)
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    if not isinstance(code, str) or not code.strip() or len(code) > 64:
        return None
    message = error.get("message")
    return code.strip(), message if isinstance(message, str) else ""


def call_id_from(body: bytes) -> tuple[str, Mapping[str, Any]] | None:
    """The id and call object of an accepted call; None when the answer has no readable id."""
    data = decode(body)
    if not isinstance(data, dict):
        return None
    call_id = data.get("id")
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        return None
    return call_id, data


def _bad(field: str, rule: str) -> InvalidRequest:
    return InvalidRequest(f"not a {PLUGIN} call object: {field} {rule}", plugin=PLUGIN)


def _text(data: Mapping[str, Any], field: str, *, required: bool = False) -> str | None:
    value = data.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > 1000:
        raise _bad(field, "must be a non-empty string")
    return value


def _time(data: Mapping[str, Any], field: str) -> datetime | None:
    value = _text(data, field)
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise _bad(field, "must be an ISO 8601 time") from None
    if when.utcoffset() is None:
        raise _bad(field, "must carry a UTC offset")
    return when


def _count(data: Mapping[str, Any], field: str) -> int | None:
    value = data.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10**7:
        raise _bad(field, "must be a whole number of seconds")
    return value


def _cost(data: Mapping[str, Any]) -> Money | None:
    price = _text(data, "price")
    if price is None:
        return None
    currency = _text(data, "currency", required=True)
    try:
        amount = Decimal(price)
    except InvalidOperation:
        raise _bad("price", "must be a decimal string") from None
    if not amount.is_finite() or amount < 0:
        raise _bad("price", "must be a decimal string")
    try:
        return Money(amount, str(currency))
    except ValidationError:
        raise _bad("currency", "must be an ISO 4217 code") from None


def _hangup(data: Mapping[str, Any], status: CallStatus) -> HangupCause | None:
    if not status.is_final:
        return None
    sip = data.get("sip_code")
    if sip is None:
        return HangupCause(HangupCategory.UNKNOWN, provider_code=status.value)
    if isinstance(sip, bool) or not isinstance(sip, int):
        raise _bad("sip_code", "must be a SIP status")
    return from_sip(sip, provider_code=str(sip))


def record_from_wire(data: Any, *, provider: str) -> CallRecord:
    """The :class:`CallRecord` for a call object; :class:`InvalidRequest` if it is not one."""
    if not isinstance(data, Mapping):
        raise _bad("the call", "must be an object")
    call_id = data.get("id")
    if not isinstance(call_id, str) or not _CALL_ID.match(call_id):
        raise _bad("id", "must be a call id")
    wire_status = data.get("status")
    status = STATUSES.get(wire_status) if isinstance(wire_status, str) else None
    if status is None:
        raise _bad("status", "must be one of " + ", ".join(STATUSES))
    duration = _count(data, "duration")
    return CallRecord(
        call_id=call_id,
        provider=provider,
        plugin=PLUGIN,
        to=_text(data, "to"),
        caller_id=_text(data, "from"),
        status=status,
        hangup=_hangup(data, status),
        submitted_at=_time(data, "created_at"),
        started_at=_time(data, "created_at"),
        ringing_at=_time(data, "ringing_at"),
        answered_at=_time(data, "answered_at"),
        ended_at=_time(data, "ended_at"),
        duration=duration,
        billed_duration=None if duration is None else -(-duration // 60) * 60,
        cost=_cost(data),
        digits=_text(data, "digits"),
        reference=_text(data, "ref"),
        raw=_plain(data),
    )


def events_from_push(body: bytes, *, provider: str) -> list[CallEvent]:
    """The events of a push ``{"event": "call.…", "call": {…}}`` (already verified)."""
    data = decode(body)
    if not isinstance(data, dict) or not isinstance(data.get("event"), str):
        raise InvalidRequest(f"not a {PLUGIN} push: expected an event object", plugin=PLUGIN)
    record = record_from_wire(data.get("call"), provider=provider)
    kind = _EVENT_KINDS.get(record.status, EventKind.RECORD)
    at = record.ended_at or record.answered_at or record.ringing_at or record.submitted_at
    return [
        CallEvent(
            kind=kind,
            call_id=record.call_id,
            provider=provider,
            at=at,
            digits=record.digits,
            record=record if kind is EventKind.RECORD else None,
            reference=record.reference,
            raw=record.raw,
        )
    ]


def _plain(value: Any) -> Any:
    """JSON-ready data: the Decimals the parser made go back to strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value
