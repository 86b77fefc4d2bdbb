"""ITNIO's wire format: request bodies, the documented rules, records — as pure functions.

Nothing here does I/O or reads a clock. The provider builds a request with
:func:`build_send` (which checks every documented rule first), and maps answers back with
:func:`envelope_from` and :func:`record_from_wire`. The emulator checks the bodies it receives
with the same rule functions (:func:`send_code_problems` …), which accept the loose typing of
ITNIO's own PHP sample (numbers sent as numeric strings, optional fields null or absent).

Shapes (spec §2):

* ``POST /voice/sendCode`` — ``callee``, ``displayNum``, ``language``, ``text``, ``appId``,
  ``loopCount``, ``calledInfo``, ``recallCount``, ``recallInterval``, ``maxDuration``,
  ``maxRingingTime`` (+ the newer ``speakingRate``, ``ssmlGender``, ``accent``);
* ``POST /voice/sendGroup`` — ``callee`` (comma list), ``displayNum``, ``fileId``, ``appId``,
  ``maxDuration``, ``maxRingingTime``, ``loopCount``, ``calledInfo``;
* ``POST /voice/fileUpload`` — ``fileName``, ``file`` (Base64);
* ``GET /voice/recordGroup/{voiceId}`` and ``POST /voice/recordGroupQuery`` — records, times
  as ISO-8601 with ``+08:00``; the push carries the same record with epoch-millisecond times.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import attrs

from voicegw.causes import from_sip, status_for
from voicegw.errors import InvalidRequest, UnsupportedFeature, ValidationError, VoiceError
from voicegw.models import (
    Audio,
    AudioUpload,
    CallRecord,
    CallStatus,
    HangupCategory,
    HangupCause,
    Money,
    Prompt,
    RecordingRef,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
)
from voicegw_itniotech.settings import PLUGIN, ItniotechSettings

__all__ = [
    "AUDIO_EXTENSIONS",
    "ITNIO_TZ",
    "LANGUAGES",
    "MAX_QUERY_SPAN",
    "NEWER_LANGUAGE_CODES",
    "SEED_LANGUAGE_CODES",
    "SHORT_TEXT_LANGUAGES",
    "Envelope",
    "Page",
    "Problem",
    "WireRequest",
    "build_file_upload",
    "build_record_query",
    "build_send",
    "envelope_from",
    "format_time",
    "itnio_language",
    "loads",
    "loose_int",
    "page_from_wire",
    "plain",
    "query_windows",
    "record_from_wire",
    "record_path",
    "records_from_push",
    "send_code_clean",
    "send_code_problems",
    "send_group_problems",
    "spoken_digits",
    "text_length",
    "text_limit",
    "upload_problems",
]

#: The platform's clock: record times carry ``+08:00``; naive times are read in this zone.
ITNIO_TZ = timezone(timedelta(hours=8))

#: BCP-47 primary language subtag → (ITNIO code, name): the seed's language list.
LANGUAGES: dict[str, tuple[str, str]] = {
    "en": ("EN", "English"),
    "vi": ("VN", "Vietnamese"),
    "ja": ("JP", "Japanese"),
    "ar": ("ARB", "Arabic"),
    "de": ("DE", "German"),
    "hi": ("IN", "Hindi"),
    "it": ("IT", "Italian"),
    "ko": ("KR", "Korean"),
    "ru": ("RU", "Russian"),
    "es": ("ES", "Spanish"),
    "pt": ("PT", "Portuguese"),
    "id": ("IDN", "Indonesian"),
    "bn": ("BD", "Bengali (Bangladesh)"),
    "th": ("TH", "Thai"),
}
SEED_LANGUAGE_CODES = frozenset(code for code, _ in LANGUAGES.values())
#: Codes of the newer doc variant (partial list, spec §2.1). Whether the seed codes stay valid
#: beside them is UNKNOWN: the client sends seed codes, the emulator accepts both.
NEWER_LANGUAGE_CODES = frozenset(
    {"AR", "BAS", "CA", "GL", "BN", "GU", "HI", "KN", "ML", "MR", "PA", "TA", "BG", "CS"}
    | {"DA", "NL", "EN", "TL", "FI"}
)
#: Languages whose ``text`` is limited to 299 characters; every other one allows 800.
SHORT_TEXT_LANGUAGES = frozenset({"IDN", "VN", "TH"})
SHORT_TEXT_LIMIT = 299
TEXT_LIMIT = 800
CALLED_INFO_LIMIT = 1000
#: ``sendGroup`` numbers per request (EN page; newer pages allow 1000).
GROUP_NUMBER_LIMIT = 200
AUDIO_EXTENSIONS = (".mp3", ".m4a", ".wav")
FILE_NAME_LENGTH = (5, 32)
#: ``recordGroupQuery`` spans at most 31 days; pages hold at most 100 records.
MAX_QUERY_SPAN = timedelta(days=31)
MAX_PAGE_SIZE = 100
#: Opaque ids (``voiceId``, ``fileId``): at most 64 characters, never parsed.
MAX_ID_LENGTH = 64

_DIGITS = re.compile(r"^[0-9]+$")
_LOOSE_INT = re.compile(r"^-?[0-9]{1,10}$")
_LOOSE_NUMBER = re.compile(r"^-?[0-9]{1,6}(\.[0-9]{1,6})?$")
_CODE = re.compile(r"^-?[0-9]{1,6}$")
_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


# ---------------------------------------------------------------------------------------------
# JSON and the envelope


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


#: The decoder ``json.loads(text, parse_float=Decimal, parse_constant=…)`` builds on every call.
_DECODER = json.JSONDecoder(parse_float=Decimal, parse_constant=_reject_constant)


def loads(body: bytes | str) -> Any:
    """Decode an ITNIO answer: numbers with a fraction become Decimal, never float.

    Raises ``ValueError`` (only) when ``body`` is not UTF-8 JSON.
    """
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        if isinstance(text, str) and not text.startswith("\ufeff"):
            return _DECODER.decode(text)  # what json.loads does with these arguments
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from None


@attrs.frozen
class Envelope:
    """``{"status": "0", "reason": "success", "data": …}``: status as a string, always."""

    status: str
    reason: str
    data: Any
    body: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def ok(self) -> bool:
        """True for ``status "0"``."""
        return self.status == "0"


def envelope_from(obj: Any) -> Envelope | None:
    """The envelope in a decoded answer, or None when it is not one (no numeric ``status``)."""
    if not isinstance(obj, dict) or "status" not in obj:
        return None
    status = obj["status"]
    if status == "0" and type(status) is str:
        code = status  # what the steps below make of it
    else:
        if isinstance(status, bool) or not isinstance(status, str | int):
            return None
        code = str(status).strip()
        if not _CODE.match(code):
            return None
        code = str(int(code))  # "-016" and "0000" are still -16 and 0
    reason = obj.get("reason")
    return Envelope(code, reason if isinstance(reason, str) else "", obj.get("data"), obj)


_SCALARS = frozenset({str, int, bool, float, type(None)})


def plain(value: Any) -> Any:
    """``value`` with every Decimal turned into its string: JSON-ready for ``raw``."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


# ---------------------------------------------------------------------------------------------
# Rules: one table for the client's checks and the emulator's


@attrs.frozen
class Problem:
    """A documented rule a field breaks: ``field`` is the wire name."""

    field: str
    rule: str

    def text(self, source: str | None = None) -> str:
        """The message, naming ``source`` (the caller's name for the field) first."""
        if source is None or source == self.field or source.endswith(f".{self.field}"):
            return f"{source or self.field} {self.rule}"
        return f"{source} ({self.field}) {self.rule}"


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) > 40:
        return f"a string of {len(value)} characters"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def loose_int(value: Any) -> int | None:
    """An int from an int or a numeric string (the PHP sample sends strings); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _LOOSE_INT.match(value):
        return int(value)
    return None


def _absent(body: Mapping[str, Any], field: str) -> bool:
    return body.get(field) in (None, "")


def _int_rule(body: Mapping[str, Any], field: str, low: int, high: int) -> Problem | None:
    if _absent(body, field):
        return None
    number = loose_int(body[field])
    if number is None or not low <= number <= high:
        return Problem(
            field, f"must be a whole number from {low} to {high}, got {_show(body[field])}"
        )
    return None


def _number_rule(body: Mapping[str, Any], field: str, low: str, high: str) -> Problem | None:
    if _absent(body, field):
        return None
    value = body[field]
    number: Decimal | None = None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            number = None
    elif isinstance(value, str) and _LOOSE_NUMBER.match(value):
        number = Decimal(value)
    if number is None or not number.is_finite() or not Decimal(low) <= number <= Decimal(high):
        return Problem(field, f"must be a number from {low} to {high}, got {_show(value)}")
    return None


def _digits_rule(body: Mapping[str, Any], field: str, *, required: bool) -> Problem | None:
    if _absent(body, field):
        return Problem(field, "is required: 7 to 15 digits") if required else None
    value = body[field]
    if not isinstance(value, str) or not _DIGITS.match(value) or not 7 <= len(value) <= 15:
        return Problem(field, f"must be 7 to 15 digits (country code + number), got {_show(value)}")
    return None


def _text_rule(
    body: Mapping[str, Any], field: str, limit: int, *, required: bool
) -> Problem | None:
    if _absent(body, field):
        return Problem(field, "is required") if required else None
    value = body[field]
    if not isinstance(value, str):
        return Problem(field, f"must be a string, got {type(value).__name__}")
    length = text_length(value)
    if length > limit:
        return Problem(field, f"must be at most {limit} characters, got {length}")
    return None


def text_length(text: str) -> int:
    """Length as the platform (Java) counts it: UTF-16 code units.

    An emoji counts 2, so the limit is never exceeded on their side when it holds here.
    """
    return len(text.encode("utf-16-le")) // 2


def text_limit(language: str) -> int:
    """The ``text`` limit for an ITNIO language code: 299 for IDN, VN, TH; 800 otherwise."""
    return SHORT_TEXT_LIMIT if language in SHORT_TEXT_LANGUAGES else TEXT_LIMIT


def send_code_problems(
    body: Mapping[str, Any], *, languages: Iterable[str] = SEED_LANGUAGE_CODES
) -> list[Problem]:
    """Every documented ``sendCode`` rule ``body`` breaks (spec §2.1), in field order."""
    allowed = frozenset(languages)
    problems: list[Problem | None] = [_digits_rule(body, "callee", required=True)]
    problems.append(_digits_rule(body, "displayNum", required=False))
    language = body.get("language")
    if _absent(body, "language"):
        problems.append(Problem("language", "is required"))
    elif not isinstance(language, str) or language not in allowed:
        problems.append(
            Problem("language", f"must be one of {', '.join(sorted(allowed))}, got {language!r}")
        )
    limit = text_limit(language) if isinstance(language, str) else TEXT_LIMIT
    text_problem = _text_rule(body, "text", limit, required=True)
    if text_problem is not None and isinstance(language, str) and limit == SHORT_TEXT_LIMIT:
        text_problem = attrs.evolve(
            text_problem, rule=text_problem.rule.replace("characters", f"characters for {language}")
        )
    problems.append(text_problem)
    if _absent(body, "appId") or not isinstance(body.get("appId"), str):
        problems.append(Problem("appId", "is required: the voice application id"))
    problems.append(_int_rule(body, "loopCount", 1, 9))
    problems.append(_text_rule(body, "calledInfo", CALLED_INFO_LIMIT, required=False))
    problems.append(_int_rule(body, "recallCount", 0, 9))
    # The doc's own sample sends recallCount 0 with recallInterval 0: the interval is only
    # checked when recall is on.
    recall = loose_int(body.get("recallCount"))
    if recall is not None and recall > 0:
        problems.append(_int_rule(body, "recallInterval", 1, 999))
    problems.append(_int_rule(body, "maxDuration", 1, 120))
    problems.append(_int_rule(body, "maxRingingTime", 20, 120))
    problems.append(_number_rule(body, "speakingRate", "0.25", "4.0"))
    problems.append(_int_rule(body, "ssmlGender", 1, 2))
    accent = body.get("accent")
    if not _absent(body, "accent") and (
        not isinstance(accent, str) or not _DIGITS.match(accent) or len(accent) > 4
    ):
        rule = f"must be a country calling code of 1 to 4 digits, got {_show(accent)}"
        problems.append(Problem("accent", rule))
    return [p for p in problems if p is not None]


#: The sendCode fields :func:`send_code_clean` decides on; any other field (the options-only
#: ones and anything unknown) leaves the decision to :func:`send_code_problems`.
_CLEAN_FIELDS = frozenset(
    {"callee", "displayNum", "language", "text", "appId", "loopCount", "calledInfo"}
    | {"recallCount", "maxDuration", "maxRingingTime"}
)


def send_code_clean(body: Mapping[str, Any], languages: frozenset[str]) -> bool:
    """True when ``send_code_problems(body, languages=languages)`` is certainly empty.

    A quick yes for the bodies :func:`build_send` writes: each value of the expected type and in
    range. False means "not decided here": the full rules then run and name the problems. It
    never says yes where a rule would object (a property test holds it to that). Written out
    in one expression: it runs on every send.
    """
    if not _CLEAN_FIELDS.issuperset(body):
        return False
    get = body.get
    callee = get("callee")
    display = get("displayNum")
    language = get("language")
    text = get("text")
    app_id = get("appId")
    called_info = get("calledInfo")
    loop_count = get("loopCount")
    recall = get("recallCount")  # > 0 with no recallInterval: nothing more to check
    duration = get("maxDuration")
    ringing = get("maxRingingTime")
    # Digits: ASCII 0-9 only, 7 to 15 of them. Texts: an ASCII text has as many UTF-16 code
    # units as characters. Whole numbers: ints, never bools.
    return (
        type(callee) is str
        and 7 <= len(callee) <= 15
        and callee.isascii()
        and callee.isdigit()
        and (
            display is None
            or display == ""
            or (
                type(display) is str
                and 7 <= len(display) <= 15
                and display.isascii()
                and display.isdigit()
            )
        )
        and type(language) is str
        and language != ""
        and language in languages
        and type(text) is str
        and text != ""
        and (
            (text.isascii() and len(text) <= TEXT_LIMIT and language not in SHORT_TEXT_LANGUAGES)
            or text_length(text) <= text_limit(language)
        )
        and type(app_id) is str
        and app_id != ""
        and (loop_count is None or (type(loop_count) is int and 1 <= loop_count <= 9))
        and (
            called_info is None
            or (
                type(called_info) is str
                and (
                    (called_info.isascii() and len(called_info) <= CALLED_INFO_LIMIT)
                    or text_length(called_info) <= CALLED_INFO_LIMIT
                )
            )
        )
        and (recall is None or (type(recall) is int and 0 <= recall <= 9))
        and (duration is None or (type(duration) is int and 1 <= duration <= 120))
        and (ringing is None or (type(ringing) is int and 20 <= ringing <= 120))
    )


def send_group_problems(
    body: Mapping[str, Any], *, max_numbers: int = GROUP_NUMBER_LIMIT, max_loop: int = 3
) -> list[Problem]:
    """Every documented ``sendGroup`` rule ``body`` breaks (spec §2.2)."""
    problems: list[Problem | None] = []
    callee = body.get("callee")
    if not isinstance(callee, str) or not callee:
        problems.append(Problem("callee", "is required: comma-separated numbers"))
    else:
        numbers = callee.split(",")
        if len(numbers) > max_numbers:
            problems.append(
                Problem("callee", f"must list at most {max_numbers} numbers, got {len(numbers)}")
            )
        for number in numbers:
            problem = _digits_rule({"callee": number}, "callee", required=True)
            if problem is not None:
                problems.append(problem)
                break
    problems.append(_digits_rule(body, "displayNum", required=False))
    file_id = body.get("fileId")
    if not isinstance(file_id, str) or not _ID.match(file_id):
        problems.append(Problem("fileId", f"must be an uploaded file's id, got {_show(file_id)}"))
    if _absent(body, "appId") or not isinstance(body.get("appId"), str):
        problems.append(Problem("appId", "is required: the voice application id"))
    problems.append(_int_rule(body, "maxDuration", 1, 120))
    problems.append(_int_rule(body, "maxRingingTime", 20, 120))
    problems.append(_int_rule(body, "loopCount", 1, max_loop))
    problems.append(_text_rule(body, "calledInfo", CALLED_INFO_LIMIT, required=False))
    return [p for p in problems if p is not None]


def upload_problems(body: Mapping[str, Any]) -> list[Problem]:
    """The ``fileUpload`` rules on the name (5–32 characters with extension, mp3/m4a/wav)."""
    name = body.get("fileName")
    problems: list[Problem] = []
    low, high = FILE_NAME_LENGTH
    if not isinstance(name, str) or not low <= len(name) <= high:
        problems.append(
            Problem("fileName", f"must be {low} to {high} characters with its extension")
        )
    elif not name.lower().endswith(AUDIO_EXTENSIONS) or "/" in name or "\\" in name:
        problems.append(
            Problem("fileName", f"must be a plain file name ending in .mp3, .m4a or .wav: {name!r}")
        )
    if not isinstance(body.get("file"), str) or not body["file"]:
        problems.append(Problem("file", "is required: the audio as Base64"))
    return problems


# ---------------------------------------------------------------------------------------------
# Building requests


@attrs.frozen
class WireRequest:
    """One request to make: method, path (under ``base_url``) and JSON body."""

    method: str
    path: str
    body: Mapping[str, Any] | None = None


#: Where each sendCode/sendGroup field comes from, for messages that name the caller's field.
FIELD_SOURCES: dict[str, str] = {
    "callee": "to",
    "displayNum": "caller_id",
    "language": "prompts",
    "text": "prompts",
    "appId": "app_id",
    "loopCount": "repeat",
    "calledInfo": "reference",
    "maxDuration": "max_duration",
    "maxRingingTime": "ring_timeout",
    "fileId": "prompts",
}
#: Friendly option names → wire names.
OPTION_ALIASES: dict[str, str] = {
    "recall_count": "recallCount",
    "recall_interval": "recallInterval",
    "speaking_rate": "speakingRate",
    "ssml_gender": "ssmlGender",
}
#: sendCode fields that only ``options`` set; sendGroup takes none of them.
SPEECH_ONLY_OPTIONS = frozenset({"recallCount", "recallInterval", "speakingRate", "ssmlGender"})


def _source(field: str, from_options: frozenset[str]) -> str:
    if field in from_options:
        return f"options.{field}"
    return FIELD_SOURCES.get(field, f"options.{field}")


def _raise_problems(problems: Sequence[Problem], from_options: frozenset[str]) -> None:
    if problems:
        raise ValidationError(
            "; ".join(p.text(_source(p.field, from_options)) for p in problems), plugin=PLUGIN
        )


def _options(options: Mapping[str, Any], *, group: bool) -> dict[str, Any]:
    """``notification.options`` as wire fields: aliases resolved, model fields refused."""
    fields: dict[str, Any] = {}
    for key, value in options.items():
        if not isinstance(key, str):
            raise ValidationError(f"options keys must be strings, got {key!r}", plugin=PLUGIN)
        wire = OPTION_ALIASES.get(key, key)
        if wire in FIELD_SOURCES:
            raise ValidationError(
                f"options.{key} cannot be set through options: it comes from {FIELD_SOURCES[wire]}",
                plugin=PLUGIN,
            )
        if group and wire in SPEECH_ONLY_OPTIONS:
            raise UnsupportedFeature(
                f"options.{key}: ITNIO's sendGroup (Audio prompts) takes no {wire}", plugin=PLUGIN
            )
        if wire in fields:
            raise ValidationError(f"options.{key} is given twice (as {wire})", plugin=PLUGIN)
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            raise ValidationError(
                f"options.{key} must be JSON data (str, int, float, bool, None, list, dict)",
                plugin=PLUGIN,
            ) from None
        fields[wire] = value
    return fields


_NON_DIGITS = re.compile(r"[^0-9]")


def _digits_of(number: str | None) -> str | None:
    """ITNIO's number form: an E.164 number without its ``+``."""
    if number is None:
        return None
    return number.removeprefix("+") if number[1:].isdigit() else _NON_DIGITS.sub("", number)


def itnio_language(tag: str, overrides: Mapping[str, str] | None = None) -> str | None:
    """The ITNIO code for BCP-47 ``tag`` (``vi-VN`` → ``VN``), or None if ITNIO cannot speak it.

    ``overrides`` (``settings.language_codes``) are matched on the whole tag, then on its
    primary subtag, before the built-in table.
    """
    lowered = tag.lower()
    primary = lowered.split("-", 1)[0]
    extra = overrides or {}
    if lowered in extra:
        return extra[lowered]
    if primary in extra:
        return extra[primary]
    entry = LANGUAGES.get(primary)
    return entry[0] if entry else None


def spoken_digits(digits: str) -> str:
    """A verification code as TTS text read digit by digit: ``"5, 8, 3"``."""
    return ", ".join(digits)


def _speech(prompts: Sequence[Prompt], overrides: Mapping[str, str]) -> tuple[str, str]:
    """(language code, text) of prompts that are all Speech or VerificationCode."""
    codes: list[str] = []
    parts: list[str] = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, Speech):
            text, tag = prompt.text.strip(), prompt.language
        elif isinstance(prompt, VerificationCode):
            text, tag = spoken_digits(prompt.digits), prompt.language
        else:  # Audio and Template were refused before
            raise UnsupportedFeature(f"prompts[{index}] cannot be read as text", plugin=PLUGIN)
        code = itnio_language(tag, overrides)
        if code is None:
            supported = ", ".join(sorted({*LANGUAGES, *overrides}))
            raise UnsupportedFeature(
                f"prompts[{index}].language {tag!r} is not a language ITNIO speaks; "
                f"supported: {supported} (map more in settings.language_codes)",
                plugin=PLUGIN,
            )
        codes.append(code)
        parts.append(text)
    if len(codes) == 1:
        return codes[0], parts[0]
    if len(set(codes)) > 1:
        raise UnsupportedFeature(
            f"prompts mix languages ({', '.join(dict.fromkeys(codes))}): ITNIO reads one text "
            "in one language per call",
            plugin=PLUGIN,
        )
    return codes[0], " ".join(parts)


_TEXT_PROMPTS = frozenset({Speech, VerificationCode})


def _check_prompts(notification: VoiceNotification) -> str | None:
    """The Audio file id to play, None for speech; refuses what ITNIO cannot do."""
    if notification.collect is not None:
        raise UnsupportedFeature(
            "collect: ITNIO has no request field to collect digits (key presses only show up "
            "in feedbackValue)",
            plugin=PLUGIN,
        )
    prompts = notification.prompts
    if len(prompts) == 1 and type(prompts[0]) in _TEXT_PROMPTS:
        return None  # one text prompt: no Audio, no Template
    audio = [p for p in notification.prompts if isinstance(p, Audio)]
    for index, prompt in enumerate(notification.prompts):
        if isinstance(prompt, Template):
            raise UnsupportedFeature(
                f"prompts[{index}] is a Template: ITNIO has no voice templates", plugin=PLUGIN
            )
    if not audio:
        return None
    if len(audio) != len(notification.prompts):
        raise UnsupportedFeature(
            "prompts mix Audio with speech: ITNIO plays either one uploaded file (sendGroup) "
            "or one text (sendCode) per call",
            plugin=PLUGIN,
        )
    if len(audio) > 1:
        raise UnsupportedFeature(
            f"prompts hold {len(audio)} Audio files: ITNIO's sendGroup plays one file per call",
            plugin=PLUGIN,
        )
    return audio[0].file_id


def build_send(notification: VoiceNotification, settings: ItniotechSettings) -> WireRequest:
    """The request that places ``notification``; every documented rule is checked first.

    Speech and verification codes go to ``sendCode``; one ``Audio`` prompt goes to
    ``sendGroup`` with that one number. Raises :class:`ValidationError` (or
    :class:`UnsupportedFeature`) naming the field and the rule.
    """
    file_id = _check_prompts(notification)
    caller = notification.caller_id or settings.caller_id
    body: dict[str, Any] = {
        "callee": _digits_of(notification.to),
        # Optional on sendCode, required on the EN sendGroup page: null when nobody set one.
        "displayNum": _digits_of(caller),
    }
    if file_id is None:
        language, text = _speech(notification.prompts, settings.language_codes)
        body.update(language=language, text=text)
    else:
        body["fileId"] = file_id
    body["appId"] = settings.app_id
    body["loopCount"] = notification.repeat
    if notification.reference is not None:
        body["calledInfo"] = notification.reference
    if file_id is None:
        body["recallCount"] = 0  # recall off unless options turn it on
    if notification.max_duration is not None:
        body["maxDuration"] = notification.max_duration
    if notification.ring_timeout is not None:
        body["maxRingingTime"] = notification.ring_timeout
    extra = (
        _options(notification.options, group=file_id is not None) if notification.options else {}
    )
    body.update(extra)
    if file_id is None:
        codes = settings.language_codes
        languages = (
            SEED_LANGUAGE_CODES | frozenset(codes.values()) if codes else SEED_LANGUAGE_CODES
        )
        if not send_code_clean(body, languages):
            _raise_problems(send_code_problems(body, languages=languages), frozenset(extra))
        return WireRequest("POST", "/voice/sendCode", body)
    _raise_problems(send_group_problems(body), frozenset(extra))
    return WireRequest("POST", "/voice/sendGroup", body)


def build_file_upload(upload: AudioUpload, *, max_bytes: int) -> WireRequest:
    """The ``fileUpload`` request: ``fileName`` (5–32 characters, unique per account) and the
    audio as standard Base64. ``upload.name`` names the file when given (the extension of
    ``upload.filename`` is added when it has none)."""
    filename = upload.filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = upload.name or filename
    if upload.name and "." not in upload.name and "." in filename:
        name = upload.name + filename[filename.rindex(".") :]
    if len(upload.data) > max_bytes:
        raise ValidationError(
            f"data must be at most {max_bytes} bytes (settings.max_upload_bytes), "
            f"got {len(upload.data)}",
            plugin=PLUGIN,
        )
    body = {"fileName": name, "file": base64.b64encode(upload.data).decode("ascii")}
    problems = upload_problems(body)
    if problems:
        raise ValidationError(
            "; ".join(p.text("name" if upload.name else "filename") for p in problems),
            plugin=PLUGIN,
        )
    return WireRequest("POST", "/voice/fileUpload", body)


def record_path(call_id: str) -> str:
    """``/voice/recordGroup/{voiceId}``; refuses ids that cannot be one (locally)."""
    if not isinstance(call_id, str) or not call_id.strip() or len(call_id) > MAX_ID_LENGTH:
        raise ValidationError(
            f"call_id must be an ITNIO voiceId of 1 to {MAX_ID_LENGTH} characters, "
            f"got {_show(call_id)}",
            plugin=PLUGIN,
        )
    return "/voice/recordGroup/" + quote(call_id.strip(), safe="")


def format_time(moment: datetime) -> str:
    """A query time as the platform writes it: ``2022-02-18T14:42:40+08:00``."""
    if moment.tzinfo is None:
        raise ValidationError("query times must be timezone-aware", plugin=PLUGIN)
    return moment.astimezone(ITNIO_TZ).replace(microsecond=0).isoformat()


def query_windows(start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into windows of at most 31 days, to whole seconds (end rounded up)."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValidationError("start and end must be timezone-aware datetimes", plugin=PLUGIN)
    start = start.astimezone(UTC).replace(microsecond=0)
    if end.microsecond:
        end = end.replace(microsecond=0) + timedelta(seconds=1)
    end = end.astimezone(UTC)
    if end <= start:
        raise ValidationError("end must be after start", plugin=PLUGIN)
    windows: list[tuple[datetime, datetime]] = []
    cursor = start
    while cursor < end:
        upper = min(cursor + MAX_QUERY_SPAN, end)
        windows.append((cursor, upper))
        cursor = upper
    return windows


def build_record_query(
    start: datetime, end: datetime, *, current: int = 1, size: int = MAX_PAGE_SIZE
) -> WireRequest:
    """One page of ``recordGroupQuery`` for a window of at most 31 days."""
    return WireRequest(
        "POST",
        "/voice/recordGroupQuery",
        {
            "current": current,
            "size": size,
            "params": {"strTime": format_time(start), "endTime": format_time(end)},
        },
    )


@attrs.frozen
class Page:
    """One page of ``recordGroupQuery``: its records (raw) and where it stands."""

    records: tuple[Mapping[str, Any], ...]
    current: int
    pages: int


def page_from_wire(data: Any) -> Page:
    """A ``recordGroupQuery`` ``data`` object; ``ValueError`` when it is not one."""
    if not isinstance(data, dict):
        raise ValueError("data is not an object")
    records = data.get("records")
    if records is None:
        records = []
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ValueError("records is not a list of objects")
    current = loose_int(data.get("current")) or 1
    pages = loose_int(data.get("pages"))
    if pages is None:
        total = loose_int(data.get("total"))
        size = loose_int(data.get("size")) or MAX_PAGE_SIZE
        pages = math.ceil(total / size) if total is not None and size > 0 else current
    return Page(tuple(records), current, pages)


# ---------------------------------------------------------------------------------------------
# Records


def _time(item: Mapping[str, Any], field: str) -> datetime | None:
    """A record time: epoch ms (number or numeric string; 0 = unset), or ISO-8601.

    ISO times without an offset are read in the platform's zone, ``+08:00`` (ASSUMPTION).
    """
    value = item.get(field)
    if value is None or value == "" or isinstance(value, bool):
        if isinstance(value, bool):
            raise ValueError(f"{field} is a boolean")
        return None
    millis: Decimal | None = None
    if isinstance(value, int | Decimal):
        millis = Decimal(value)
    elif isinstance(value, float):
        millis = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"[0-9]{1,16}", text):
            millis = Decimal(text)
        else:
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=ITNIO_TZ)
            return parsed.astimezone(UTC)
    else:
        raise ValueError(f"{field} is neither a time string nor epoch milliseconds")
    if not millis.is_finite():
        raise ValueError(f"{field} is not a finite number")
    if millis == 0:
        return None
    if millis < 0:
        raise ValueError(f"{field} is negative")
    seconds = int(millis) // 1000
    micros = int((millis - seconds * 1000) * 1000)
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds, microseconds=micros)


def _seconds(item: Mapping[str, Any], field: str) -> int | None:
    value = item.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, Decimal) and value == value.to_integral_value():
        value = int(value)
    number = loose_int(value)
    if number is None or number < 0:
        raise ValueError(f"{field} must be whole seconds ≥ 0, got {_show(value)}")
    return number


def _text(item: Mapping[str, Any], field: str) -> str | None:
    value = item.get(field)
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | Decimal):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError(f"{field} is not a string")
    return value if value.strip() else None


def _number_text(item: Mapping[str, Any], field: str) -> str | None:
    """A phone number as E.164 (``+`` digits), None when absent or not a number."""
    text = _text(item, field)
    if text is None:
        return None
    digits = text.lstrip("+")
    if _DIGITS.match(digits) and 7 <= len(digits) <= 15:
        return "+" + digits
    return None


def _money(item: Mapping[str, Any]) -> Money | None:
    """``cost`` in the quote currency (``currency``; USD when empty). Older pages: ``costEur``."""
    currency = _text(item, "currency")
    currency = currency.strip().upper() if currency else "USD"
    amount = _text(item, "cost")
    if amount is None:
        amount = _text(item, "costEur")
        if amount is not None and _text(item, "currency") is None:
            currency = "EUR"
    if amount is None:
        return None
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise ValueError(f"cost is not a decimal amount: {_show(amount)}") from None
    return Money(value, currency)


def _outcome(
    code: str | None,
    *,
    answered_at: datetime | None,
    ringing_at: datetime | None,
    ended_at: datetime | None,
) -> tuple[CallStatus, HangupCause | None]:
    """Status and hang-up cause from the SIP final code (spec §4.1).

    ``200`` is answered; ``0`` is the legacy "success" wording (answered when ``answerTime`` is
    set); an empty code is a call still in progress; anything else goes through
    :func:`voicegw.causes.from_sip`. A 487 after ringing is the ring timer: no answer.
    """
    if code is None:
        if ended_at is None:
            if answered_at is not None:
                return CallStatus.IN_PROGRESS, None
            return (CallStatus.RINGING if ringing_at else CallStatus.QUEUED), None
        cause = HangupCause(HangupCategory.UNKNOWN, description="ended without terminationCode")
        answered = answered_at is not None
        return status_for(cause, answered=answered), None if answered else cause
    if code == "0":
        if answered_at is not None:
            return CallStatus.COMPLETED, HangupCause(
                HangupCategory.NORMAL, provider_code="0", description="success"
            )
        if ended_at is None:
            return (CallStatus.RINGING if ringing_at else CallStatus.QUEUED), None
        cause = HangupCause(HangupCategory.UNKNOWN, provider_code="0", description="success")
        return CallStatus.FAILED, cause
    if _DIGITS.match(code) and len(code) <= 3:
        sip = int(code)
        cause = from_sip(sip, provider_code=code)
        if sip == 487 and ringing_at is not None:
            cause = attrs.evolve(
                cause,
                category=HangupCategory.NO_ANSWER,
                description="Request Terminated (ring timer expired)",
            )
        answered = sip == 200 or answered_at is not None
        return status_for(cause, answered=answered), cause
    cause = HangupCause(
        HangupCategory.UNKNOWN, provider_code=code[:32], description="unrecognised terminationCode"
    )
    return status_for(cause, answered=answered_at is not None), cause


def _record(item: Any, provider: str, plugin: str) -> CallRecord:
    if not isinstance(item, dict):
        raise ValueError(f"a record is a JSON object, got {type(item).__name__}")
    voice_id = _text(item, "voiceId")
    if voice_id is None or len(voice_id) > MAX_ID_LENGTH:
        raise ValueError("voiceId is missing or longer than 64 characters")
    submitted = _time(item, "submitTime")
    started = _time(item, "callTime")
    ringing = _time(item, "ringingTime")
    answered = _time(item, "answerTime")
    ended = _time(item, "hangupTime")
    code = _text(item, "sipCode") or _text(item, "terminationCode")
    status, hangup = _outcome(
        code.strip() if code else None,
        answered_at=answered,
        ringing_at=ringing,
        ended_at=ended,
    )
    digits = _text(item, "feedbackValue")
    recording_id = _text(item, "recordingFileId")
    return CallRecord(
        call_id=voice_id,
        provider=provider,
        plugin=plugin,
        to=_number_text(item, "callee"),
        caller_id=_number_text(item, "displayNum"),
        status=status,
        hangup=hangup,
        submitted_at=submitted,
        started_at=started,
        ringing_at=ringing,
        answered_at=answered,
        ended_at=ended,
        duration=_seconds(item, "callDuration"),
        billed_duration=_seconds(item, "chargedDuration"),
        cost=_money(item),
        digits=None if digits is None or digits.strip() == "-1" else digits.strip(),
        recording=RecordingRef(file_id=recording_id) if recording_id else None,
        reference=_text(item, "calledInfo"),
        raw=plain(item),
    )


def record_from_wire(item: Any, *, provider: str, plugin: str = PLUGIN) -> CallRecord:
    """A :class:`CallRecord` from one ITNIO record (a query's or a push's).

    Times: ISO-8601 (``+08:00``) or epoch milliseconds → UTC; empty strings → None; money
    strings → :class:`Money` in the quote currency (USD when ``currency`` is empty);
    ``sipCode``/``terminationCode`` → ``status`` and ``hangup``; ``feedbackValue`` → ``digits``
    (``-1``: none); ``calledInfo`` → ``reference``. Anything unreadable raises
    :class:`InvalidRequest`; no other exception escapes.
    """
    try:
        return _record(item, provider, plugin)
    except VoiceError as exc:
        raise InvalidRequest(f"unreadable ITNIO record: {exc.message}", plugin=plugin) from None
    except (ValueError, TypeError, OverflowError, ArithmeticError) as exc:
        raise InvalidRequest(f"unreadable ITNIO record: {exc}", plugin=plugin) from None


def records_from_push(body: bytes, *, provider: str, plugin: str = PLUGIN) -> list[CallRecord]:
    """The records in a voice report push: one JSON object, or an array of them (spec §3)."""
    try:
        data = loads(body)
    except ValueError as exc:
        raise InvalidRequest(f"not an ITNIO push: {exc}", plugin=plugin) from None
    items = data if isinstance(data, list) else [data]
    return [record_from_wire(item, provider=provider, plugin=plugin) for item in items]
