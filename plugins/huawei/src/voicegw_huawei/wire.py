"""Huawei's request bodies: the documented field rules, and the models → JSON mapping.

The rules (:func:`check_notify`, :func:`check_verify`, :func:`check_click2call`,
:func:`check_stop`) are the field tables of spec §4–§7 as code. They return the first
:class:`FieldProblem` or None; the provider turns a problem into a
:class:`~voicegw.errors.ValidationError` before sending, the emulator into ``1010002``.

The builders (:func:`notify_body`, :func:`verify_body`, :func:`click2call_body`) map the
shared models to those bodies. They are pure and raise ``ValidationError`` naming the field.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs

from voicegw.errors import UnsupportedFeature, ValidationError
from voicegw.models import (
    Audio,
    ClickToCall,
    Prompt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
    normalize_e164,
)
from voicegw_huawei.settings import VARIABLE_MAX_BYTES, HuaweiSettings, ProductApp, SpeechTemplate

__all__ = [
    "CALLBACK_PATH",
    "NOTIFY_PATH",
    "NOTIFY_V1_PATH",
    "RECORD_PATH",
    "STOP_PATH",
    "VERIFY_PATH",
    "FieldProblem",
    "b64_url",
    "check_click2call",
    "check_notify",
    "check_stop",
    "check_verify",
    "click2call_body",
    "decode_b64_url",
    "notify_body",
    "split_speech",
    "stop_body",
    "verify_body",
]

CALLBACK_PATH = "/rest/httpsessions/click2Call/v2.0"
NOTIFY_PATH = "/rest/httpsessions/callnotify/v2.0"
NOTIFY_V1_PATH = "/rest/httpsessions/callnotify/v1.0"
VERIFY_PATH = "/rest/httpsessions/callVerify/v1.0"
STOP_PATH = "/rest/httpsessions/callStop/v2.0"
RECORD_PATH = "/rest/provision/voice/record/v1.0"

#: At most this many items in ``playInfoList`` (spec §5.2).
MAX_PLAY_ITEMS = 5
MAX_COLLECT = 32
MAX_VERIFY_DIGITS = 8
MAX_TIMES = 9
MAX_DURATION_MINUTES = 1440
#: Huawei waits a fixed 5 seconds for the first key after playback (spec §5.3).
COLLECT_TIMEOUT = 5


@attrs.frozen
class FieldProblem:
    """A body field that breaks a documented rule: ``field`` (a JSON path) and ``rule``."""

    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.field} {self.rule}"


# ---------------------------------------------------------------------------------------------
# Field rules

Rule = Callable[[Any], str | None]

_CN_NUMBER = re.compile(r"^\+86[0-9]{5,28}$")
_E164ISH = re.compile(r"^\+[0-9]{1,31}$")
_DIGITS = re.compile(r"^[0-9]+$")
_DTMF = re.compile(r"^[0-9*#]+$")


def _string(low: int, high: int) -> Rule:
    def rule(value: Any) -> str | None:
        if not isinstance(value, str):
            return "must be a string"
        if not low <= len(value) <= high:
            return f"must be {low} to {high} characters"
        return None

    return rule


def _number(low: int, high: int, pattern: re.Pattern[str], what: str) -> Rule:
    length = _string(low, high)

    def rule(value: Any) -> str | None:
        problem = length(value)
        if problem is not None:
            return problem
        if not pattern.match(value):
            return f"must be {what}"
        return None

    return rule


def _integer(low: int, high: int) -> Rule:
    def rule(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if not low <= value <= high:
            return f"must be between {low} and {high}"
        return None

    return rule


def _one_of(*choices: str) -> Rule:
    def rule(value: Any) -> str | None:
        if value not in choices:
            return "must be one of " + ", ".join(f'"{c}"' for c in choices)
        return None

    return rule


def _b64_url(value: Any) -> str | None:
    problem = _string(1, 128)(value)
    if problem is not None:
        return problem
    if decode_b64_url(value) is None:
        return "must be the Base64 form of an http(s) URL"
    return None


def _user_data(value: Any) -> str | None:
    problem = _string(1, 256)(value)
    if problem is not None:
        return problem
    # Documented: no braces, no Chinese. Conservative reading: printable ASCII only.
    if any(not (" " <= ch <= "~") or ch in "{}" for ch in value):
        return "must be printable ASCII without { or } (Base64-encode other text)"
    return None


_BOOL = _one_of("true", "false")
_FILE = _string(1, 128)
_DISPLAY = _number(1, 32, _E164ISH, "'+' then digits (a display number of the app)")
_CALLEE = _number(4, 31, _CN_NUMBER, "a mainland China number: +86 then digits")
_CALLER = _number(1, 32, _CN_NUMBER, "a mainland China number: +86 then digits")

_COMMON: dict[str, Rule] = {
    "bindNbr": _string(1, 32),
    "displayNbr": _DISPLAY,
    "calleeNbr": _CALLEE,
    "statusUrl": _b64_url,
    "feeUrl": _b64_url,
    "returnIdlePort": _BOOL,
    "userData": _user_data,
}

_CALLBACK: dict[str, Rule] = {
    **_COMMON,
    "callerNbr": _CALLER,
    "displayCalleeNbr": _DISPLAY,
    "maxDuration": _integer(0, MAX_DURATION_MINUTES),
    "lastMinVoice": _FILE,
    "lastMinToUE": _one_of("toa", "tob", "both"),
    "playPreVoice": _BOOL,
    "preVoice": _FILE,
    "waitVoice": _FILE,
    "calleeMedia": _one_of("all", "none", "fail"),
    "recordFlag": _BOOL,
    "recordHintTone": _FILE,
    "partyTypeRequiredInDisconnect": _BOOL,
}

_VERIFY: dict[str, Rule] = {
    **_COMMON,
    "languageType": _integer(0, 99),
    "preTone": _FILE,
    "verifyCode": _number(1, MAX_VERIFY_DIGITS, _DIGITS, "digits 0-9 only"),
    "posTone": _FILE,
    "times": _integer(0, MAX_TIMES),
}


def _check_fields(
    body: Mapping[str, Any], rules: Mapping[str, Rule], required: Sequence[str], prefix: str = ""
) -> FieldProblem | None:
    for name in required:
        if body.get(name) is None:
            return FieldProblem(prefix + name, "is required")
    for name, rule in rules.items():
        if name in body and body[name] is not None:
            problem = rule(body[name])
            if problem is not None:
                return FieldProblem(prefix + name, problem)
    return None


def _template_param(value: Any) -> str | None:
    if not isinstance(value, str) or not value:
        return "must be a non-empty string"
    if len(value.encode("utf-8")) > VARIABLE_MAX_BYTES:
        return f"must be at most {VARIABLE_MAX_BYTES} bytes of UTF-8"
    return None


def _check_play_item(item: Any, prefix: str) -> FieldProblem | None:
    if not isinstance(item, Mapping):
        return FieldProblem(prefix.rstrip("."), "must be an object")
    has_voice = item.get("notifyVoice") is not None
    has_template = item.get("templateId") is not None
    if has_voice == has_template:
        return FieldProblem(prefix + "notifyVoice", "or templateId: exactly one is required")
    rules: dict[str, Rule] = {
        "notifyVoice": _FILE,
        "templateId": _string(1, 32),
        "collectInd": _integer(0, MAX_COLLECT),
        "replayAfterCollection": _BOOL,
        "collectContentTriggerReplaying": _number(1, MAX_COLLECT, _DTMF, "DTMF keys 0-9 * #"),
    }
    problem = _check_fields(item, rules, (), prefix)
    if problem is not None:
        return problem
    paras = item.get("templateParas")
    if paras is not None:
        if not has_template:
            return FieldProblem(prefix + "templateParas", "is only allowed with templateId")
        if not isinstance(paras, list):
            return FieldProblem(prefix + "templateParas", "must be a list of strings")
        for index, value in enumerate(paras):
            rule = _template_param(value)
            if rule is not None:
                return FieldProblem(f"{prefix}templateParas[{index}]", rule)
    collect = item.get("collectInd") or 0
    if item.get("replayAfterCollection") is not None and collect == 0:
        return FieldProblem(prefix + "replayAfterCollection", "needs collectInd above 0")
    if (
        item.get("collectContentTriggerReplaying") is not None
        and item.get("replayAfterCollection") != "true"
    ):
        return FieldProblem(
            prefix + "collectContentTriggerReplaying", 'needs replayAfterCollection "true"'
        )
    return None


def check_notify(body: Mapping[str, Any], *, version: str = "v2.0") -> FieldProblem | None:
    """The first broken rule of a ``callnotify`` body (spec §5.2), or None.

    ``v1.0`` plays voice files only: a ``templateId`` there is a problem.
    """
    problem = _check_fields(body, _COMMON, ("displayNbr", "calleeNbr", "playInfoList"))
    if problem is not None:
        return problem
    items = body["playInfoList"]
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_PLAY_ITEMS:
        return FieldProblem("playInfoList", f"must hold 1 to {MAX_PLAY_ITEMS} items")
    for index, item in enumerate(items):
        prefix = f"playInfoList[{index}]."
        problem = _check_play_item(item, prefix)
        if problem is not None:
            return problem
        if version == "v1.0" and item.get("templateId") is not None:
            return FieldProblem(prefix + "templateId", "needs callnotify v2.0")
    return None


def check_verify(body: Mapping[str, Any]) -> FieldProblem | None:
    """The first broken rule of a ``callVerify`` body (spec §6), or None."""
    return _check_fields(
        body, _VERIFY, ("displayNbr", "calleeNbr", "languageType", "preTone", "verifyCode")
    )


def check_click2call(body: Mapping[str, Any]) -> FieldProblem | None:
    """The first broken rule of a ``click2Call`` body (spec §4.1), or None."""
    problem = _check_fields(
        body, _CALLBACK, ("displayNbr", "callerNbr", "displayCalleeNbr", "calleeNbr")
    )
    if problem is not None:
        return problem
    if body.get("lastMinVoice") is not None and not body.get("maxDuration"):
        return FieldProblem("lastMinVoice", "needs maxDuration above 0")
    return None


def check_stop(body: Mapping[str, Any]) -> FieldProblem | None:
    """The first broken rule of a ``callStop`` body (spec §7), or None."""
    rules = {"sessionid": _string(1, 256), "signal": _one_of("call_stop")}
    return _check_fields(body, rules, ("sessionid", "signal"))


# ---------------------------------------------------------------------------------------------
# URLs


def b64_url(url: str) -> str:
    """The Base64 form of a push URL, as ``statusUrl`` / ``feeUrl`` carry it."""
    return base64.b64encode(url.encode("utf-8")).decode("ascii")


def decode_b64_url(value: str) -> str | None:
    """The URL inside a ``statusUrl`` / ``feeUrl``; None when it is not Base64 of a URL."""
    try:
        url = base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        return None
    if not re.match(r"^https?://[^\s/]+", url):
        return None
    return url


# ---------------------------------------------------------------------------------------------
# Speech through a template


_BREAK_AFTER = set(" \t\n\r,.;:!?，。；：！？、")


def split_speech(text: str, *, max_length: int, max_bytes: int) -> list[str]:
    """``text`` in pieces that each fit one template variable, broken at spaces or punctuation.

    Each piece has at most ``max_length`` characters and ``max_bytes`` bytes of UTF-8; a word
    longer than that is cut. Whitespace around pieces is dropped.

    >>> split_speech("Your table is ready, please come in", max_length=16, max_bytes=32)
    ['Your table is', 'ready, please', 'come in']
    """
    pieces: list[str] = []
    rest = text.strip()
    while rest:
        size = 0
        end = 0
        for ch in rest:
            width = len(ch.encode("utf-8"))
            if end + 1 > max_length or size + width > max_bytes:
                break
            size += width
            end += 1
        if end == 0:  # a single character wider than max_bytes cannot fit at all
            raise ValidationError("text has a character that does not fit the template variable")
        if end < len(rest):
            cut = max((i + 1 for i in range(end) if rest[i] in _BREAK_AFTER), default=0)
            if cut == 0 and rest[end] in _BREAK_AFTER:
                cut = end
            if cut:
                end = cut
        piece = rest[:end].strip()
        if piece:
            pieces.append(piece)
        # A break that did not fit is the pause between two pieces: do not start with it.
        rest = rest[end:].lstrip("".join(_BREAK_AFTER))
    return pieces


# ---------------------------------------------------------------------------------------------
# Builders

#: Body fields the model sets: options may not override them (the model field to use instead).
_RESERVED: dict[str, str] = {
    "calleeNbr": "to",
    "displayNbr": "caller_id",
    "userData": "reference",
    "playInfoList": "prompts",
    "verifyCode": "prompts",
    "callerNbr": "caller",
    "displayCalleeNbr": "callee_display",
}

#: Item fields that options may set on the play item that collects digits.
_ITEM_OPTIONS = ("replayAfterCollection", "collectContentTriggerReplaying")


def _apply_options(
    body: dict[str, Any], options: Mapping[str, Any], reserved: Mapping[str, str]
) -> None:
    for key, value in options.items():
        if not isinstance(key, str):
            raise ValidationError("options keys must be strings (Huawei body field names)")
        if key in reserved:
            raise ValidationError(f"options.{key} is set by the model: use {reserved[key]}")
        body[key] = value


def _push_urls(body: dict[str, Any], settings: HuaweiSettings) -> None:
    if settings.status_url:
        body["statusUrl"] = b64_url(settings.status_url)
    if settings.fee_url:
        body["feeUrl"] = b64_url(settings.fee_url)


def _display_number(
    explicit: str | None, app: ProductApp, settings: HuaweiSettings, field: str
) -> str:
    number = explicit or app.caller_id or settings.caller_id
    if number is None:
        raise ValidationError(
            f"{field} is required: set it on the request or caller_id in the settings "
            "(a display number of the Huawei app)"
        )
    return normalize_e164(number, field=field)


def _raise_problem(problem: FieldProblem | None, names: Mapping[str, str]) -> None:
    """Raise the ``ValidationError`` for ``problem``, naming the model field when there is one."""
    if problem is None:
        return
    top = re.split(r"[.\[]", problem.field, maxsplit=1)[0]
    model = names.get(top)
    if model is None:
        raise ValidationError(f"options.{problem.field} {problem.rule}")
    raise ValidationError(f"{model} ({problem.field}) {problem.rule}")


_NOTIFY_NAMES = {
    "calleeNbr": "to",
    "displayNbr": "caller_id",
    "userData": "reference",
    "statusUrl": "status_url",
    "feeUrl": "fee_url",
    "playInfoList": "prompts",
}
_VERIFY_NAMES = {
    **_NOTIFY_NAMES,
    "verifyCode": "prompts",
    "preTone": "verify_pre_tone",
    "posTone": "prompts",
    "times": "repeat",
    "languageType": "language",
}
_CALLBACK_NAMES = {
    **_NOTIFY_NAMES,
    "calleeNbr": "callee",
    "callerNbr": "caller",
    "displayCalleeNbr": "callee_display",
    "maxDuration": "max_duration",
    "recordFlag": "record",
}


def _common_fields(
    notification: VoiceNotification, settings: HuaweiSettings, app: ProductApp
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "displayNbr": _display_number(notification.caller_id, app, settings, "caller_id"),
        "calleeNbr": normalize_e164(notification.to, field="to"),
    }
    _push_urls(body, settings)
    if notification.reference is not None:
        body["userData"] = notification.reference
    return body


def _refuse_unsupported_limits(notification: VoiceNotification) -> None:
    if notification.ring_timeout is not None:
        raise UnsupportedFeature(
            "ring_timeout: Huawei has no per-call ringing timeout (its own applies)"
        )
    if notification.max_duration is not None:
        raise UnsupportedFeature(
            "max_duration: Huawei limits call duration only for click-to-call (maxDuration)"
        )


def _speech_items(
    prompt: Speech, index: int, template: SpeechTemplate | None
) -> list[dict[str, Any]]:
    if template is None:
        raise UnsupportedFeature(
            f"prompts[{index}]: Huawei cannot speak free text; name an approved template with "
            "one text variable in speech_template to send Speech prompts"
        )
    if not template.speaks(prompt.language):
        raise UnsupportedFeature(
            f"prompts[{index}].language {prompt.language!r} is not spoken by the speech template "
            f"(languages: {', '.join(template.languages)})"
        )
    try:
        pieces = split_speech(
            prompt.text, max_length=template.max_length, max_bytes=template.max_bytes
        )
    except ValidationError as exc:
        raise ValidationError(f"prompts[{index}].{exc.message}") from None
    if not pieces:
        raise ValidationError(f"prompts[{index}].text must contain something to say")
    return [{"templateId": template.template_id, "templateParas": [piece]} for piece in pieces]


def _play_items(prompts: Sequence[Prompt], settings: HuaweiSettings) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for index, prompt in enumerate(prompts):
        if isinstance(prompt, Template):
            item: dict[str, Any] = {"templateId": prompt.template_id}
            if prompt.params:
                item["templateParas"] = list(prompt.params)
            items.append(item)
        elif isinstance(prompt, Audio):
            items.append({"notifyVoice": prompt.file_id})
        elif isinstance(prompt, Speech):
            items.extend(_speech_items(prompt, index, settings.speech_template))
        else:
            raise ValidationError(
                f"prompts[{index}]: a VerificationCode cannot be mixed with other prompts "
                "(except an Audio right before and after it)"
            )
    return items


def notify_body(
    notification: VoiceNotification, settings: HuaweiSettings, app: ProductApp
) -> dict[str, Any]:
    """The ``callnotify/v2.0`` body for a notification of Template, Audio and Speech prompts.

    ``repeat`` repeats the play list; ``collect`` sets ``collectInd`` on the last item (the
    platform collects after the whole list has played). Raises ``ValidationError`` /
    ``UnsupportedFeature`` naming the field.
    """
    _refuse_unsupported_limits(notification)
    body = _common_fields(notification, settings, app)
    items = _play_items(notification.prompts, settings) * notification.repeat
    if len(items) > MAX_PLAY_ITEMS:
        raise ValidationError(
            f"prompts need {len(items)} play items (with repeat and speech split into template "
            f"pieces); Huawei plays at most {MAX_PLAY_ITEMS} per call"
        )
    options = dict(notification.options)
    item_options = {key: options.pop(key) for key in _ITEM_OPTIONS if key in options}
    collect = notification.collect
    if collect is not None:
        if collect.max_digits > MAX_COLLECT:
            raise ValidationError(f"collect.max_digits must be at most {MAX_COLLECT} for Huawei")
        if collect.timeout != COLLECT_TIMEOUT:
            raise UnsupportedFeature(
                f"collect.timeout: Huawei waits a fixed {COLLECT_TIMEOUT} s for the first key"
            )
        if collect.end_key is not None:
            raise UnsupportedFeature("collect.end_key: Huawei has no end key for collection")
        items[-1] = {**items[-1], "collectInd": collect.max_digits, **item_options}
    elif item_options:
        raise ValidationError(
            "options." + next(iter(item_options)) + " needs collect (digit collection)"
        )
    body["playInfoList"] = items
    _apply_options(body, options, _RESERVED)
    _raise_problem(check_notify(body), _NOTIFY_NAMES)
    return body


def language_type(language: str, table: Mapping[str, int]) -> int:
    """The ``languageType`` for a BCP-47 tag: the exact tag, else its primary subtag."""
    tag = language.lower()
    if tag in table:
        return table[tag]
    primary = tag.split("-")[0]
    if primary in table:
        return table[primary]
    raise UnsupportedFeature(
        f"language {language!r} cannot read verification codes at Huawei "
        f"(verify_languages: {', '.join(sorted(table))})"
    )


def verify_body(
    notification: VoiceNotification, settings: HuaweiSettings, app: ProductApp
) -> dict[str, Any]:
    """The ``callVerify/v1.0`` body for ``[Audio?] VerificationCode [Audio?]``.

    A leading ``Audio`` is the ``preTone`` (else ``verify_pre_tone``), a trailing one the
    ``posTone``; ``repeat`` is ``times``; the language picks ``languageType``.
    """
    _refuse_unsupported_limits(notification)
    prompts = list(notification.prompts)
    codes = [i for i, p in enumerate(prompts) if isinstance(p, VerificationCode)]
    if len(codes) != 1:
        raise ValidationError("prompts may hold one VerificationCode only")
    at = codes[0]
    before, after = prompts[:at], prompts[at + 1 :]
    if len(before) > 1 or len(after) > 1 or not all(isinstance(p, Audio) for p in before + after):
        raise ValidationError(
            "prompts: a VerificationCode may only have one Audio before it (the pre tone) and "
            "one after it (the post tone)"
        )
    code = prompts[at]
    assert isinstance(code, VerificationCode)
    if len(code.digits) > MAX_VERIFY_DIGITS:
        raise ValidationError(
            f"prompts[{at}].digits must be at most {MAX_VERIFY_DIGITS} digits for Huawei"
        )
    if notification.collect is not None:
        raise UnsupportedFeature(
            "collect: Huawei collects digits in voice notifications only, not with codes"
        )
    if notification.repeat > MAX_TIMES:
        raise ValidationError(f"repeat must be at most {MAX_TIMES} for verification codes")
    pre_tone = settings.verify_pre_tone
    if before and isinstance(before[0], Audio):
        pre_tone = before[0].file_id
    if pre_tone is None:
        raise UnsupportedFeature(
            "verification codes need a pre tone: set verify_pre_tone (an approved voice file) "
            "or put an Audio prompt before the code"
        )
    body = _common_fields(notification, settings, app)
    body["languageType"] = language_type(code.language, settings.verify_languages)
    body["preTone"] = pre_tone
    body["verifyCode"] = code.digits
    if after and isinstance(after[0], Audio):
        body["posTone"] = after[0].file_id
    body["times"] = notification.repeat
    _apply_options(body, notification.options, _RESERVED)
    _raise_problem(check_verify(body), _VERIFY_NAMES)
    return body


def is_verification(notification: VoiceNotification) -> bool:
    """True when the notification reads a code (``callVerify``) rather than plays a list."""
    return any(isinstance(p, VerificationCode) for p in notification.prompts)


def click2call_body(
    request: ClickToCall, settings: HuaweiSettings, app: ProductApp
) -> dict[str, Any]:
    """The ``click2Call/v2.0`` body: ring ``caller`` (A) first, then bridge to ``callee`` (B).

    ``max_duration`` is in seconds and must be whole minutes (Huawei counts minutes).
    """
    display = _display_number(request.caller_id, app, settings, "caller_id")
    body: dict[str, Any] = {
        "displayNbr": display,
        "callerNbr": normalize_e164(request.caller, field="caller"),
        "displayCalleeNbr": (
            normalize_e164(request.callee_display, field="callee_display")
            if request.callee_display
            else display
        ),
        "calleeNbr": normalize_e164(request.callee, field="callee"),
    }
    if request.max_duration is not None:
        if request.max_duration % 60:
            raise ValidationError(
                "max_duration must be whole minutes (a multiple of 60 seconds) for Huawei"
            )
        body["maxDuration"] = request.max_duration // 60
    if request.record:
        body["recordFlag"] = "true"
    _push_urls(body, settings)
    if request.reference is not None:
        body["userData"] = request.reference
    _apply_options(body, request.options, {**_RESERVED, "calleeNbr": "callee"})
    _raise_problem(check_click2call(body), _CALLBACK_NAMES)
    return body


def stop_body(call_id: str) -> dict[str, Any]:
    """The ``callStop/v2.0`` body (note the lowercase ``sessionid``)."""
    body = {"sessionid": call_id, "signal": "call_stop"}
    problem = check_stop(body)
    if problem is not None:
        raise ValidationError(f"call_id ({problem.field}) {problem.rule}")
    return body
