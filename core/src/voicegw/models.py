"""Value types shared by every provider: what to call, and what happened.

Every model is a frozen, slotted attrs class. Fields with rules validate on construction and
raise :class:`voicegw.errors.ValidationError` naming the field, so bad input is refused before
anything is sent. Times are timezone-aware UTC; money is :class:`decimal.Decimal`, never a float.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, TypeAlias

import attrs
import phonenumbers

from voicegw.errors import ValidationError

__all__ = [
    "Attempt",
    "Audio",
    "AudioFile",
    "AudioStatus",
    "AudioUpload",
    "CallEvent",
    "CallRecord",
    "CallStatus",
    "ClickToCall",
    "DigitCollection",
    "EventKind",
    "HangupCategory",
    "HangupCause",
    "Money",
    "Prompt",
    "RecordingRef",
    "SendReceipt",
    "Speech",
    "Template",
    "VerificationCode",
    "VoiceNotification",
    "compact_number",
    "normalize_e164",
]

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
#: ``_E164`` without the slack of ``$`` (which also matches before a final newline).
_E164_EXACT = re.compile(r"\+[1-9][0-9]{6,14}")
_PUNCTUATION = re.compile(r"[\s\-().]")
_BCP47 = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def normalize_e164(value: str, *, field: str = "number") -> str:
    """Return ``value`` as an E.164 string, or raise :class:`ValidationError`.

    E.164 here means ``+`` followed by 7 to 15 digits whose country code exists and whose
    length is possible for that country (checked with ``phonenumbers``). Spaces, dashes and
    parentheses are tolerated and removed; anything else is refused.

    >>> normalize_e164("+86 139-1234-5678")
    '+8613912345678'
    """
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string in E.164 form, got {type(value).__name__}")
    # Models hand over numbers their converter already compacted: no substitution then.
    if _E164_EXACT.fullmatch(value):  # nothing to remove
        compact = value
    else:
        compact = _PUNCTUATION.sub("", value)
        if not _E164.match(compact):
            raise ValidationError(f"{field} must be E.164: '+' then 7 to 15 digits, got {value!r}")
    if _possible(compact):
        return compact
    # The slow path: let the library read what people write, e.g. a trunk zero after the
    # country code ("+44 (0)20 …"), and give the number in its real E.164 form.
    try:
        parsed = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{field} is not a phone number: {value!r} ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            f"{field} {value!r} has an impossible length for country code +{parsed.country_code}"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


#: (first three digits, length) of an E.164 number → whether it is possible. Both decide the
#: answer: the first three digits fix the country calling code (codes are prefix-free), and
#: ``is_possible_number`` looks only at the national number's length for that code. Bounded
#: by 1,000 prefixes × 9 lengths.
_POSSIBLE: dict[tuple[str, int], bool] = {}


def _possible(e164: str) -> bool:
    """Whether an E.164 string (``+`` and 7–15 digits) is a possible number, the way
    ``phonenumbers.is_possible_number`` says, remembered per country code and length."""
    key = (e164[1:4], len(e164))
    known = _POSSIBLE.get(key)
    if known is None:
        number = _phone_number(e164)
        known = _POSSIBLE[key] = number is not None and phonenumbers.is_possible_number(number)
    return known


def _phone_number(e164: str) -> phonenumbers.PhoneNumber | None:
    """The ``PhoneNumber`` of an E.164 string already known to be ``+`` and 7–15 digits.

    ``phonenumbers.parse`` handles every way people write numbers; E.164 needs none of that,
    and parsing costs most of a send's CPU. Country calling codes are prefix-free, so the one
    that the digits start with is found by trying 1, 2 and 3 digits, as the library does.
    The length rules stay the library's (``is_possible_number``).
    """
    digits = e164[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            value = int(national)
            number = phonenumbers.PhoneNumber(country_code=code, national_number=value)
            zeros = len(national) - len(str(value))  # as the library counts: "0000" has 3
            if zeros:
                number.italian_leading_zero = True
                number.number_of_leading_zeros = zeros
            return number
    return None


def compact_number(value: Any) -> Any:
    """Converter: drop the spaces, dashes, dots and parentheses people write in numbers."""
    return _PUNCTUATION.sub("", value) if isinstance(value, str) else value


def _e164(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    normalize_e164(value, field=attribute.name)


def _optional_e164(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None:
        normalize_e164(value, field=attribute.name)


def _language(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not _BCP47.match(value):
        raise ValidationError(
            f"{attribute.name} must be a BCP-47 tag such as 'en', 'vi' or 'zh-CN', got {value!r}"
        )


def _positive_int(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{attribute.name} must be a whole number ≥ 1, got {value!r}")


def _non_empty_str(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"{attribute.name} must be a non-empty string, got {value!r}")


def _aware_utc(value: datetime | None) -> datetime | None:
    """Converter: refuse naive datetimes, express aware ones in UTC."""
    if value is None:
        return None
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # what astimezone(UTC) gives: this very object
    if not isinstance(value, datetime):
        raise ValidationError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"datetimes must be timezone-aware, got naive {value.isoformat()}")
    return value.astimezone(UTC)


def _required_aware_utc(value: datetime) -> datetime:
    if type(value) is datetime and value.tzinfo is UTC:
        return value  # as in _aware_utc
    converted = _aware_utc(value)
    if converted is None:
        raise ValidationError("a timezone-aware datetime is required, got None")
    return converted


def _frozen_mapping(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return dict(value) if value else {}


# ---------------------------------------------------------------------------------------------
# Money


def _decimal(value: Decimal | str | int) -> Decimal:
    if isinstance(value, float):
        raise ValidationError("money amounts must not be floats: pass a str, int or Decimal")
    if isinstance(value, bool):
        raise ValidationError("money amounts must be a number, got a bool")
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise ValidationError(f"not a money amount: {value!r}") from None
    if not amount.is_finite():
        raise ValidationError(f"money amounts must be finite, got {value!r}")
    return amount


def _currency(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Z]{3}", value):
        raise ValidationError(f"currency must be a three-letter ISO 4217 code, got {value!r}")


@attrs.frozen
class Money:
    """An amount of money in one currency. ``Money("0.023625", "USD")``.

    The amount is a :class:`~decimal.Decimal`; strings and ints are converted, floats refused.
    """

    amount: Decimal = attrs.field(converter=_decimal)
    currency: str = attrs.field(validator=_currency)


# ---------------------------------------------------------------------------------------------
# Prompts: what a call plays


@attrs.frozen
class Speech:
    """Text read out by the provider's text-to-speech engine, in ``language`` (BCP-47)."""

    text: str = attrs.field(validator=_non_empty_str)
    language: str = attrs.field(default="en", validator=_language)


def _str_tuple(values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise ValidationError("template params must be a sequence of strings, not one string")
    params = tuple(values)
    for index, param in enumerate(params):
        if not isinstance(param, str):
            raise ValidationError(f"params[{index}] must be a string, got {type(param).__name__}")
    return params


@attrs.frozen
class Template:
    """A template approved at the provider, filled with ``params`` in order."""

    template_id: str = attrs.field(validator=_non_empty_str)
    params: tuple[str, ...] = attrs.field(default=(), converter=_str_tuple)


@attrs.frozen
class Audio:
    """An audio file the provider already holds (see :meth:`VoiceGateway.upload_audio`)."""

    file_id: str = attrs.field(validator=_non_empty_str)


def _code_digits(instance: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(r"[0-9]{1,16}", value):
        raise ValidationError(f"{attribute.name} must be 1 to 16 digits 0-9, got {value!r}")


@attrs.frozen
class VerificationCode:
    """A verification code read digit by digit, e.g. ``VerificationCode("583021", "en")``."""

    digits: str = attrs.field(validator=_code_digits)
    language: str = attrs.field(default="en", validator=_language)


Prompt: TypeAlias = Speech | Template | Audio | VerificationCode
PROMPT_TYPES: tuple[type, ...] = (Speech, Template, Audio, VerificationCode)


def _prompts(value: Any) -> tuple[Prompt, ...]:
    # A list or a tuple is no single prompt, no str or bytes, and iterable: straight on.
    if type(value) is not list and type(value) is not tuple:
        if isinstance(value, PROMPT_TYPES):
            return (value,)  # type: ignore[return-value]
        if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
            raise ValidationError(
                "prompts must be a prompt or a sequence of Speech, Template, Audio, "
                "VerificationCode"
            )
    prompts = tuple(value)
    if not prompts:
        raise ValidationError("prompts must hold at least one prompt")
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, PROMPT_TYPES):
            raise ValidationError(
                f"prompts[{index}] must be Speech, Template, Audio or VerificationCode, "
                f"got {type(prompt).__name__}"
            )
    return prompts


def _end_key(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and value not in set("0123456789*#"):
        raise ValidationError(f"end_key must be one DTMF key (0-9, * or #), got {value!r}")


@attrs.frozen
class DigitCollection:
    """Collect up to ``max_digits`` DTMF keys after the prompts, waiting ``timeout`` seconds."""

    max_digits: int = attrs.field(default=1, validator=_positive_int)
    timeout: int = attrs.field(default=5, validator=_positive_int)
    end_key: str | None = attrs.field(default=None, validator=_end_key)


def _reference(instance: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or len(value) > 1000):
        raise ValidationError("reference must be a string of at most 1000 characters")


@attrs.frozen
class VoiceNotification:
    """One outbound call that plays ``prompts`` to ``to``.

    ``reference`` is your own correlation data, echoed on every event and record; it is also
    what makes a campaign resumable without calling anyone twice. ``options`` passes
    provider-specific fields through untouched.

    >>> VoiceNotification("+84912345678", [Speech("Your table is ready", "en")])
    ... # doctest: +ELLIPSIS
    VoiceNotification(to='+84912345678', ...)
    """

    to: str = attrs.field(converter=compact_number, validator=_e164)
    prompts: tuple[Prompt, ...] = attrs.field(converter=_prompts)
    caller_id: str | None = attrs.field(
        default=None, kw_only=True, converter=compact_number, validator=_optional_e164
    )
    repeat: int = attrs.field(default=1, kw_only=True, validator=_positive_int)
    collect: DigitCollection | None = attrs.field(default=None, kw_only=True)
    max_duration: int | None = attrs.field(default=None, kw_only=True, validator=_positive_int)
    ring_timeout: int | None = attrs.field(default=None, kw_only=True, validator=_positive_int)
    reference: str | None = attrs.field(default=None, kw_only=True, validator=_reference)
    options: Mapping[str, Any] = attrs.field(factory=dict, kw_only=True, converter=_frozen_mapping)


@attrs.frozen(kw_only=True)
class ClickToCall:
    """Call ``caller`` first, then bridge them to ``callee`` (a two-leg "callback" call)."""

    caller: str = attrs.field(converter=compact_number, validator=_e164)
    callee: str = attrs.field(converter=compact_number, validator=_e164)
    caller_id: str | None = attrs.field(
        default=None, converter=compact_number, validator=_optional_e164
    )
    callee_display: str | None = attrs.field(
        default=None, converter=compact_number, validator=_optional_e164
    )
    max_duration: int | None = attrs.field(default=None, validator=_positive_int)
    record: bool = False
    reference: str | None = attrs.field(default=None, validator=_reference)
    options: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping)


# ---------------------------------------------------------------------------------------------
# Outcomes


class CallStatus(enum.StrEnum):
    """Where a call stands. The last five are final."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """True once the call has ended; a final status never changes again."""
        return self not in _NON_FINAL

    @property
    def rank(self) -> int:
        """Progress order: queued < ringing < in_progress < any final status."""
        return _RANK.get(self, 3)


_NON_FINAL = frozenset({CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS})
_RANK = {CallStatus.QUEUED: 0, CallStatus.RINGING: 1, CallStatus.IN_PROGRESS: 2}


class HangupCategory(enum.StrEnum):
    """Why a call ended, in words every provider shares."""

    NORMAL = "normal"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    REJECTED = "rejected"
    INVALID_NUMBER = "invalid_number"
    UNREACHABLE = "unreachable"
    NETWORK_ERROR = "network_error"
    CONGESTION = "congestion"
    CANCELED = "canceled"
    BLOCKED = "blocked"
    UNKNOWN = "unknown"


@attrs.frozen
class HangupCause:
    """A normalized hang-up cause with the raw values it came from."""

    category: HangupCategory = attrs.field(converter=HangupCategory)
    q850: int | None = None
    sip: int | None = None
    provider_code: str | None = None
    description: str = ""


@attrs.frozen
class RecordingRef:
    """Where a call's recording can be fetched, and until when (if the provider says)."""

    url: str | None = None
    file_id: str | None = None
    expires_at: datetime | None = attrs.field(default=None, converter=_aware_utc)


@attrs.frozen(kw_only=True)
class Attempt:
    """One try at one provider during a logical send: what happened and how long it took."""

    provider: str
    plugin: str
    error: str | None = None
    code: str | None = None
    message: str | None = None
    call_placed: bool | None = True
    duration: float = 0.0


def _attempt_tuple(values: Iterable[Attempt]) -> tuple[Attempt, ...]:
    return tuple(values)


@attrs.frozen(kw_only=True)
class SendReceipt:
    """The provider accepted the call. ``call_id`` is the provider's own id."""

    call_id: str
    provider: str
    plugin: str
    accepted_at: datetime = attrs.field(converter=_required_aware_utc)
    reference: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, repr=False)
    attempts: tuple[Attempt, ...] = attrs.field(default=(), converter=_attempt_tuple)


def _optional_seconds(instance: object, attribute: attrs.Attribute[Any], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise ValidationError(f"{attribute.name} must be whole seconds ≥ 0, got {value!r}")


@attrs.frozen(kw_only=True)
class CallRecord:
    """The shared call record: one call, normalized, with the provider's payload in ``raw``."""

    call_id: str
    provider: str
    plugin: str
    to: str | None = None
    caller_id: str | None = None
    status: CallStatus = attrs.field(default=CallStatus.QUEUED, converter=CallStatus)
    hangup: HangupCause | None = None
    submitted_at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    started_at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    ringing_at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    answered_at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    ended_at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    duration: int | None = attrs.field(default=None, validator=_optional_seconds)
    billed_duration: int | None = attrs.field(default=None, validator=_optional_seconds)
    cost: Money | None = None
    digits: str | None = None
    recording: RecordingRef | None = None
    reference: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, repr=False)


class EventKind(enum.StrEnum):
    """What a provider push reported."""

    INITIATED = "initiated"
    RINGING = "ringing"
    ANSWERED = "answered"
    DIGITS = "digits"
    ENDED = "ended"
    RECORD = "record"
    AUDIO_REVIEWED = "audio_reviewed"


@attrs.frozen(kw_only=True)
class CallEvent:
    """One normalized event from a provider push.

    ``record`` carries the final :class:`CallRecord` for ``record`` events (and whatever the
    provider said for ``ended``); ``audio`` carries the reviewed file for ``audio_reviewed``.
    """

    kind: EventKind = attrs.field(converter=EventKind)
    call_id: str
    provider: str
    at: datetime | None = attrs.field(default=None, converter=_aware_utc)
    digits: str | None = None
    record: CallRecord | None = None
    audio: AudioFile | None = None
    reference: str | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, converter=_frozen_mapping, repr=False)


# ---------------------------------------------------------------------------------------------
# Audio held by a provider


class AudioStatus(enum.StrEnum):
    """Review state of an uploaded audio file."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


def _non_empty_bytes(instance: object, attribute: attrs.Attribute[Any], value: bytes) -> None:
    if not isinstance(value, bytes) or not value:
        raise ValidationError("audio data must be non-empty bytes")


@attrs.frozen(kw_only=True)
class AudioUpload:
    """Audio a provider must hold (and often review) before an :class:`Audio` prompt plays it."""

    data: bytes = attrs.field(validator=_non_empty_bytes, repr=lambda d: f"<{len(d)} bytes>")
    filename: str = attrs.field(validator=_non_empty_str)
    language: str = attrs.field(default="en", validator=_language)
    purpose: str = "notification"
    name: str | None = None


@attrs.frozen(kw_only=True)
class AudioFile:
    """A file the provider holds: use ``Audio(file_id)`` once ``status`` is approved."""

    file_id: str
    provider: str
    status: AudioStatus = attrs.field(default=AudioStatus.PENDING, converter=AudioStatus)
    comment: str | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)
