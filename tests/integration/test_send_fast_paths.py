"""The send path's fast paths give exactly what the straightforward code gave.

Each test holds the code as it was before the fast path (or the general function the fast
path skips) and compares the two on generated input, refusals and messages included.

* :func:`voicegw.models.normalize_e164` remembers, per first three digits and length, whether
  a number is possible, and skips the punctuation substitution for compact input.
* :func:`voicegw.http.encode_json` and ITNIO's :func:`~voicegw_itniotech.wire.loads` keep one
  encoder and one decoder instead of building them on every call.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.errors import ValidationError
from voicegw.http import encode_json
from voicegw.models import normalize_e164
from voicegw_itniotech import wire

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
