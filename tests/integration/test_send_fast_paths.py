"""The send path's fast paths give exactly what the straightforward code gave.

Each test holds the code as it was before the fast path (or the general function the fast
path skips) and compares the two on generated input, refusals and messages included.

* :func:`voicegw.models.normalize_e164` remembers, per first three digits and length, whether
  a number is possible, and skips the punctuation substitution for compact input.
"""

from __future__ import annotations

import re

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from voicegw.errors import ValidationError
from voicegw.models import normalize_e164

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
