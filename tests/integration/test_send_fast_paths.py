"""The send path's fast paths give exactly what the straightforward code gave.

Each test holds the code as it was before the fast path (or the general function the fast
path skips) and compares the two on generated input, refusals and messages included.

* :func:`voicegw.models.normalize_e164` remembers, per first three digits and length, whether
  a number is possible, and skips the punctuation substitution for compact input.
* :func:`voicegw.http.encode_json` and ITNIO's :func:`~voicegw_itniotech.wire.loads` keep one
  encoder and one decoder instead of building them on every call.
* ITNIO's :func:`~voicegw_itniotech.wire.build_send` skips the full rule table when
  :func:`~voicegw_itniotech.wire.send_code_clean` says a body breaks none of the rules: that
  yes must never be given to a body the rules object to.
* ITNIO's envelope reads ``"status": "0"`` without the regular expression, and ``plain`` returns
  JSON scalars at once.
* The gateway copies the receipt with its attempts without ``attrs.evolve``.
* :class:`~voicegw.http.ProviderHttp` checks headers for control characters in one pass when
  every character is printable.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.errors import ConfigurationError, UnsupportedFeature, ValidationError
from voicegw.gateway import _with_attempts
from voicegw.http import ProviderHttp, encode_json
from voicegw.models import (
    Attempt,
    SendReceipt,
    Speech,
    VerificationCode,
    VoiceNotification,
    normalize_e164,
)
from voicegw_itniotech import wire
from voicegw_itniotech.settings import ItniotechSettings

# ---------------------------------------------------------------------------------------------
# E.164

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_PUNCTUATION = re.compile(r"[\s\-().]")


def original_normalize_e164(value: str, *, field: str = "number") -> str:
    """``normalize_e164`` before the memo: a PhoneNumber and ``is_possible_number`` each time."""
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string in E.164 form, got {type(value).__name__}")
    compact = _PUNCTUATION.sub("", value)
    if not _E164.match(compact):
        raise ValidationError(f"{field} must be E.164: '+' then 7 to 15 digits, got {value!r}")
    digits = compact[1:]
    for size in (1, 2, 3):
        code = int(digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            national = digits[size:]
            number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
            zeros = len(national) - len(str(int(national)))
            if zeros:
                number.italian_leading_zero = True
                number.number_of_leading_zeros = zeros
            if phonenumbers.is_possible_number(number):
                return compact
            break
    try:
        parsed = phonenumbers.parse(compact, None)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(f"{field} is not a phone number: {value!r} ({exc})") from None
    if not phonenumbers.is_possible_number(parsed):
        raise ValidationError(
            f"{field} {value!r} has an impossible length for country code +{parsed.country_code}"
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def outcome(function: object, value: str) -> tuple[str, str]:
    try:
        return "ok", function(value)  # type: ignore[operator]
    except ValidationError as exc:
        return "refused", str(exc)


country_codes = st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE))
numbers = st.builds(
    lambda code, national, noise: f"+{code}{national}{noise}",
    country_codes | st.integers(0, 999),
    st.text(alphabet="0123456789", min_size=0, max_size=15),
    st.sampled_from(["", "", "", "\n", " ", "-", "x", "\u0663"]),
)


@settings(max_examples=1500, deadline=None)
@given(numbers | st.text(alphabet="+0123456789 -().\n", max_size=18))
def test_normalize_e164_is_the_original(value: str) -> None:
    # Twice: the first call may fill the memo, the second reads it.
    assert outcome(normalize_e164, value) == outcome(original_normalize_e164, value)
    assert outcome(normalize_e164, value) == outcome(original_normalize_e164, value)


@pytest.mark.parametrize(
    "value",
    ["+8613900000000\n", "+86 139 0000 0000", "+440207946001", "+3906698212", "+1999"],
)
def test_normalize_e164_edge_cases_are_the_original(value: str) -> None:
    assert outcome(normalize_e164, value) == outcome(original_normalize_e164, value)


# ---------------------------------------------------------------------------------------------
# JSON


def original_encode_json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def original_loads(body: bytes | str) -> Any:
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
        return json.loads(text, parse_float=Decimal, parse_constant=wire._reject_constant)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        raise ValueError(f"not JSON: {type(exc).__name__}") from None


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.decimals(allow_nan=False, places=2).map(Decimal),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children)
    ),
    max_leaves=10,
)


def result(function: Any, value: Any) -> tuple[str, Any]:
    try:
        return "ok", function(value)
    except Exception as exc:  # the same exception, with the same message
        return type(exc).__name__, str(exc)


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_encode_json_is_json_dumps(value: Any) -> None:
    assert result(encode_json, value) == result(original_encode_json, value)


def _nan_equal(a: Any, b: Any) -> bool:
    return repr(a) == repr(b)  # NaN != NaN; the reprs of the decoded values compare


answers = (
    json_values.map(lambda v: json.dumps(v, default=str))
    | st.text(alphabet='{}[]":,0123456789.eE-+ tfnrulasNIinfy\ufeff\\', max_size=24)
    | st.binary(max_size=12).map(lambda b: b.decode("latin-1"))
)


@settings(max_examples=800, deadline=None)
@given(answers, st.booleans())
def test_itnio_loads_is_json_loads(text: str, as_bytes: bool) -> None:
    body: bytes | str = text.encode("utf-8", "surrogatepass") if as_bytes else text
    got, expected = result(wire.loads, body), result(original_loads, body)
    assert got[0] == expected[0]
    assert _nan_equal(got[1], expected[1])


@pytest.mark.parametrize("body", [b"\xef\xbb\xbf{}", "\ufeff{}", b'{"a": NaN}', b"[1.5]", b"\xff"])
def test_itnio_loads_edge_cases(body: bytes | str) -> None:
    assert repr(result(wire.loads, body)) == repr(result(original_loads, body))


# ---------------------------------------------------------------------------------------------
# ITNIO sendCode rules

SEND_CODE_FIELDS = [
    "callee",
    "displayNum",
    "language",
    "text",
    "appId",
    "loopCount",
    "calledInfo",
    "recallCount",
    "recallInterval",
    "maxDuration",
    "maxRingingTime",
    "speakingRate",
    "ssmlGender",
    "accent",
    "other",
]
field_values = (
    st.none()
    | st.just("")
    | st.booleans()
    | st.integers(-3, 1200)
    | st.sampled_from([2**40, 1.5, 0.0, 9.0, Decimal("1.0"), [], {}])
    | st.text(alphabet="0123456789", max_size=17)
    | st.text(alphabet="0123456789", max_size=4).map(lambda t: f"{t}\n")
    | st.sampled_from(["EN", "VN", "IDN", "TH", "ZH", "en", "JP", "٣٣٣٣٣٣٣٣"])
    | st.text(max_size=12)
    | st.integers(280, 1010).map(lambda n: "a" * n)
    | st.sampled_from([299, 300, 800, 801, 1000, 1001]).map(lambda n: "a" * n)
    | st.sampled_from([149, 150, 400, 401, 500, 501]).map(lambda n: "👋" * n)
    | st.integers(140, 520).map(lambda n: "👋" * n)
)
bodies = st.dictionaries(st.sampled_from(SEND_CODE_FIELDS), field_values, max_size=12)
plausible = st.fixed_dictionaries(
    {
        "callee": st.text(alphabet="0123456789", min_size=6, max_size=16),
        "language": st.sampled_from(["EN", "VN", "TH", "IDN", "ZH", ""]),
        "text": st.sampled_from(["hi", "", "a" * 299, "a" * 300, "a" * 800, "a" * 801])
        | st.text(min_size=1, max_size=5),
        "appId": st.sampled_from(["app", "", None, 7]),
    },
    optional={
        "displayNum": st.none() | st.just("") | st.text(alphabet="0123456789", max_size=16),
        "loopCount": st.integers(-1, 11) | st.just("2") | st.booleans(),
        "calledInfo": st.none() | st.text(max_size=6) | st.just("x" * 1001),
        "recallCount": st.integers(-1, 11) | st.none(),
        "recallInterval": st.integers(-1, 1001) | st.none(),
        "maxDuration": st.integers(0, 121) | st.none(),
        "maxRingingTime": st.integers(19, 121) | st.none(),
    },
)
VALID_BODY: dict[str, Any] = {
    "callee": "8613800000100",
    "displayNum": "6311012125",
    "language": "EN",
    "text": "Your parcel arrives today",
    "appId": "app",
    "loopCount": 1,
    "calledInfo": "r-1",
    "recallCount": 0,
    "maxDuration": 60,
    "maxRingingTime": 30,
}
one_field_off = st.builds(
    lambda field, value, drop: {
        **{k: v for k, v in VALID_BODY.items() if k not in drop},
        field: value,
    },
    st.sampled_from(SEND_CODE_FIELDS),
    field_values | st.sampled_from([True, False, "٣٣٣٣٣٣٣", "１２３４５６７８", "8613800000100\n"]),
    st.sets(st.sampled_from(list(VALID_BODY)), max_size=2),
)
language_sets = st.sampled_from(
    [wire.SEED_LANGUAGE_CODES, wire.SEED_LANGUAGE_CODES | {"ZH"}, frozenset({"EN"})]
)


@settings(max_examples=3000, deadline=None)
@given(bodies | plausible | one_field_off, language_sets)
def test_send_code_clean_never_says_yes_to_a_broken_body(
    body: dict[str, Any], languages: frozenset[str]
) -> None:
    if wire.send_code_clean(body, languages):
        assert wire.send_code_problems(body, languages=languages) == []


itnio_settings = ItniotechSettings(
    api_key="k" * 16, api_secret="s" * 16, app_id="app", caller_id="+6311012125"
)
notifications = st.builds(
    lambda to, prompts, repeat, reference, duration, ring: VoiceNotification(
        to,
        prompts,
        repeat=repeat,
        reference=reference,
        max_duration=duration,
        ring_timeout=ring,
    ),
    st.sampled_from(["+84912345678", "+8613800000100", "+6311012125"]),
    st.lists(
        st.builds(Speech, st.sampled_from(["hi", "a" * 300, "a" * 800, "👋" * 400, " x "]))
        | st.builds(VerificationCode, st.text(alphabet="0123456789", min_size=1, max_size=16)),
        min_size=1,
        max_size=3,
    ),
    st.integers(1, 12),
    st.none() | st.text(max_size=5) | st.just("r" * 1000),
    st.none() | st.integers(1, 130),
    st.none() | st.integers(1, 130),
)


@settings(max_examples=500, deadline=None)
@given(notifications)
def test_build_send_says_what_the_full_rules_say(note: VoiceNotification) -> None:
    try:
        request = wire.build_send(note, itnio_settings)
    except (ValidationError, UnsupportedFeature) as exc:
        error: str | None = f"{type(exc).__name__}: {exc}"
    else:
        error = None
        assert request.body is not None
        assert wire.send_code_problems(request.body) == []
    if error is None or error.startswith("UnsupportedFeature"):
        return
    # The refusal names what the full rules name.
    body = original_body(note)
    problems = wire.send_code_problems(body)
    assert problems
    assert error == "ValidationError: " + "; ".join(
        p.text(wire._source(p.field, frozenset())) for p in problems
    )


def original_body(note: VoiceNotification) -> dict[str, Any]:
    language, text = wire._speech(note.prompts, {})
    body: dict[str, Any] = {
        "callee": note.to[1:],
        "displayNum": "6311012125",
        "language": language,
        "text": text,
        "appId": "app",
        "loopCount": note.repeat,
    }
    if note.reference is not None:
        body["calledInfo"] = note.reference
    body["recallCount"] = 0
    if note.max_duration is not None:
        body["maxDuration"] = note.max_duration
    if note.ring_timeout is not None:
        body["maxRingingTime"] = note.ring_timeout
    return body


def test_the_bodies_build_send_writes_are_decided_quickly() -> None:
    note = VoiceNotification("+8613800000100", [Speech("Your parcel", "en")], reference="r-1")
    request = wire.build_send(note, itnio_settings)
    assert request.body is not None
    assert wire.send_code_clean(request.body, wire.SEED_LANGUAGE_CODES)


# ---------------------------------------------------------------------------------------------
# ITNIO envelope and raw payloads

_CODE = re.compile(r"^-?[0-9]{1,6}$")


def original_envelope_from(obj: Any) -> wire.Envelope | None:
    if not isinstance(obj, dict) or "status" not in obj:
        return None
    status = obj["status"]
    if isinstance(status, bool) or not isinstance(status, str | int):
        return None
    code = str(status).strip()
    if not _CODE.match(code):
        return None
    code = str(int(code))
    reason = obj.get("reason")
    return wire.Envelope(code, reason if isinstance(reason, str) else "", obj.get("data"), obj)


def original_plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): original_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [original_plain(v) for v in value]
    return value


statuses = st.sampled_from(["0", 0, "00", " 0", "0 ", False, True, None, "-16", -16, 0.0])


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries(
        {"status": statuses | json_values}, optional={"reason": json_values, "data": json_values}
    )
    | json_values
)
def test_envelope_from_is_the_original(obj: Any) -> None:
    assert repr(wire.envelope_from(obj)) == repr(original_envelope_from(obj))


@settings(max_examples=500, deadline=None)
@given(json_values)
def test_plain_is_the_original(value: Any) -> None:
    got, expected = wire.plain(value), original_plain(value)
    assert repr(got) == repr(expected)
    assert type(got) is type(expected)


# ---------------------------------------------------------------------------------------------
# The receipt's copy with its attempts


def test_the_receipt_copy_knows_every_field() -> None:
    """``_with_attempts`` names each field of SendReceipt: a new field must be added there."""
    assert [f.name for f in attrs.fields(SendReceipt)] == [
        "call_id",
        "provider",
        "plugin",
        "accepted_at",
        "reference",
        "raw",
        "attempts",
    ]


@pytest.mark.parametrize(
    "accepted_at",
    [
        datetime(2024, 3, 5, 8, 16, 9, 123, tzinfo=UTC),
        datetime(2024, 3, 5, 16, 16, 9, tzinfo=timezone(timedelta(hours=8))),
    ],
)
@pytest.mark.parametrize("reference", [None, "ref-1"])
def test_the_receipt_copy_is_evolve(accepted_at: datetime, reference: str | None) -> None:
    receipt = SendReceipt(
        call_id="c-1",
        provider="itn",
        plugin="itniotech",
        accepted_at=accepted_at,
        reference="plugin-ref",
        raw={"status": "0", "data": {"nested": [1, "2"]}},
    )
    attempts = (
        Attempt(provider="hw", plugin="huawei", error="TransportError", call_placed=False),
        Attempt(provider="itn", plugin="itniotech", duration=0.25),
    )
    copied = _with_attempts(receipt, attempts, reference)
    expected = attrs.evolve(receipt, attempts=attempts, reference=reference)
    assert copied == expected
    assert copied.accepted_at.tzinfo is UTC
    assert copied.raw is not receipt.raw  # a copy of its own, as evolve's converter made


def test_a_receipt_subclass_is_still_evolved() -> None:
    @attrs.frozen(kw_only=True)
    class Extended(SendReceipt):
        extra: str = "kept"

    receipt = Extended(
        call_id="c", provider="p", plugin="x", accepted_at=datetime.now(UTC), extra="mine"
    )
    copied = _with_attempts(receipt, (), "r")
    assert type(copied) is Extended
    assert copied.extra == "mine"
    assert copied.reference == "r"


# ---------------------------------------------------------------------------------------------
# Header checks

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def original_check_headers(headers: dict[Any, Any]) -> None:
    for header, value in headers.items():
        if _CONTROL_CHARS.search(header) or _CONTROL_CHARS.search(value):
            raise ConfigurationError(
                f"header {header!r} holds a line break or control character; nothing was sent",
                provider="p",
                plugin="x",
            )


header_text = st.text(
    alphabet=st.sampled_from("aZ09-;= \t\n\r\x00\x1f\x7f\x85\xa0é\u2028€👋"), max_size=6
)
header_maps = st.dictionaries(
    header_text, header_text | st.sampled_from([1, None, b"bytes\n"]), max_size=4
) | st.dictionaries(st.sampled_from([1, b"k"]), header_text, max_size=2)


@settings(max_examples=1000, deadline=None)
@given(header_maps)
def test_the_header_check_is_the_original(headers: dict[Any, Any]) -> None:
    http = ProviderHttp(provider="p", plugin="x", base_url="http://127.0.0.1:9")
    assert result(http._check_headers, headers) == result(original_check_headers, headers)
