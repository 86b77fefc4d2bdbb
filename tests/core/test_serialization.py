"""The one converter: JSON-ready data out, the same model back in, for every model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

import pytest
from cattrs.errors import BaseValidationError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from voicegw import (
    Attempt,
    Audio,
    AudioFile,
    AudioStatus,
    AudioUpload,
    CallEvent,
    CallRecord,
    CallStatus,
    ClickToCall,
    DigitCollection,
    EventKind,
    HangupCategory,
    HangupCause,
    Money,
    RecordingRef,
    SendReceipt,
    Speech,
    Template,
    VerificationCode,
    VoiceNotification,
    converter,
)
from voicegw.errors import ValidationError
from voicegw.serialization import dumps_model, loads_model

T = TypeVar("T")

T0 = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)

# -- strategies: valid values for every field ------------------------------------------------

#: E.164 numbers that phonenumbers accepts: a fixed valid prefix and free trailing digits.
numbers = st.one_of(
    st.from_regex(r"\A\+8613800000[0-9]{3}\Z"),
    st.from_regex(r"\A\+84912[0-9]{6}\Z"),
    st.from_regex(r"\A\+1415555[0-9]{4}\Z"),
    st.from_regex(r"\A\+9198765[0-9]{3}\Z"),
)
languages = st.from_regex(r"\A[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}\Z")
words = st.text(max_size=40)
non_blank = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
optional_words = st.none() | words
#: Aware datetimes in any fixed offset; the models keep them in UTC.
offsets = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-14), max_value=timedelta(hours=14))
)
aware = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1), timezones=offsets
)
optional_aware = st.none() | aware
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | words
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(words, inner, max_size=3),
    max_leaves=8,
)
raw_payloads = st.dictionaries(words, json_values, max_size=4)
seconds = st.none() | st.integers(min_value=0, max_value=10**6)
positive = st.integers(min_value=1, max_value=10**4)

money = st.builds(
    Money,
    st.decimals(allow_nan=False, allow_infinity=False, places=6).map(str),
    st.from_regex(r"\A[A-Z]{3}\Z"),
)
speech = st.builds(Speech, non_blank, languages)
template = st.builds(Template, non_blank, st.lists(words, max_size=4))
audio = st.builds(Audio, non_blank)
verification_code = st.builds(VerificationCode, st.from_regex(r"\A[0-9]{1,16}\Z"), languages)
prompts = st.one_of(speech, template, audio, verification_code)
digit_collection = st.builds(
    DigitCollection,
    max_digits=positive,
    timeout=positive,
    end_key=st.none() | st.sampled_from("0123456789*#"),
)
notification = st.builds(
    VoiceNotification,
    numbers,
    st.lists(prompts, min_size=1, max_size=4),
    caller_id=st.none() | numbers,
    repeat=positive,
    collect=st.none() | digit_collection,
    max_duration=st.none() | positive,
    ring_timeout=st.none() | positive,
    reference=st.none() | st.text(max_size=1000),
    options=raw_payloads,
)
click_to_call = st.builds(
    ClickToCall,
    caller=numbers,
    callee=numbers,
    caller_id=st.none() | numbers,
    callee_display=st.none() | numbers,
    max_duration=st.none() | positive,
    record=st.booleans(),
    reference=optional_words,
    options=raw_payloads,
)
hangup_cause = st.builds(
    HangupCause,
    st.sampled_from(HangupCategory),
    q850=st.none() | st.integers(0, 127),
    sip=st.none() | st.integers(200, 699),
    provider_code=optional_words,
    description=words,
)
recording = st.builds(
    RecordingRef, url=optional_words, file_id=optional_words, expires_at=optional_aware
)
attempt = st.builds(
    Attempt,
    provider=words,
    plugin=words,
    error=optional_words,
    code=optional_words,
    message=optional_words,
    call_placed=st.none() | st.booleans(),
    duration=st.floats(min_value=0, max_value=1e6, allow_nan=False),
)
receipt = st.builds(
    SendReceipt,
    call_id=words,
    provider=words,
    plugin=words,
    accepted_at=aware,
    reference=optional_words,
    raw=raw_payloads,
    attempts=st.lists(attempt, max_size=3),
)
record = st.builds(
    CallRecord,
    call_id=words,
    provider=words,
    plugin=words,
    to=st.none() | numbers,
    caller_id=st.none() | numbers,
    status=st.sampled_from(CallStatus),
    hangup=st.none() | hangup_cause,
    submitted_at=optional_aware,
    started_at=optional_aware,
    ringing_at=optional_aware,
    answered_at=optional_aware,
    ended_at=optional_aware,
    duration=seconds,
    billed_duration=seconds,
    cost=st.none() | money,
    digits=st.none() | st.from_regex(r"\A[0-9*#]{0,8}\Z"),
    recording=st.none() | recording,
    reference=optional_words,
    raw=raw_payloads,
)
audio_file = st.builds(
    AudioFile,
    file_id=words,
    provider=words,
    status=st.sampled_from(AudioStatus),
    comment=optional_words,
)
event = st.builds(
    CallEvent,
    kind=st.sampled_from(EventKind),
    call_id=words,
    provider=words,
    at=optional_aware,
    digits=optional_words,
    record=st.none() | record,
    audio=st.none() | audio_file,
    reference=optional_words,
    raw=raw_payloads,
)
upload = st.builds(
    AudioUpload,
    data=st.binary(min_size=1, max_size=64),
    filename=non_blank,
    language=languages,
    purpose=words,
    name=optional_words,
)

MODELS: list[tuple[type[Any], st.SearchStrategy[Any]]] = [
    (Money, money),
    (Speech, speech),
    (Template, template),
    (Audio, audio),
    (VerificationCode, verification_code),
    (DigitCollection, digit_collection),
    (VoiceNotification, notification),
    (ClickToCall, click_to_call),
    (HangupCause, hangup_cause),
    (RecordingRef, recording),
    (Attempt, attempt),
    (SendReceipt, receipt),
    (CallRecord, record),
    (AudioFile, audio_file),
    (CallEvent, event),
    (AudioUpload, upload),
]


def round_trip(model: T, cls: type[T]) -> T:
    """unstructure → JSON text → parse → structure, as a store or a push would."""
    text = json.dumps(converter.unstructure(model))
    return converter.structure(json.loads(text), cls)


@pytest.mark.parametrize(("cls", "strategy"), MODELS, ids=[cls.__name__ for cls, _ in MODELS])
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_model_round_trips_through_json(
    cls: type[Any], strategy: st.SearchStrategy[Any], data: st.DataObject
) -> None:
    model = data.draw(strategy)
    assert round_trip(model, cls) == model


def test_every_public_model_has_a_strategy() -> None:
    import voicegw

    attrs_models = {
        getattr(voicegw, name)
        for name in voicegw.__all__
        if hasattr(getattr(voicegw, name), "__attrs_attrs__")
        and getattr(voicegw, name).__module__ == "voicegw.models"
    }
    assert attrs_models == {cls for cls, _ in MODELS}


# -- the wire shape ----------------------------------------------------------------------------


def test_money_is_written_as_a_string_never_a_float() -> None:
    assert converter.unstructure(Money("0.023625", "USD")) == {
        "amount": "0.023625",
        "currency": "USD",
    }


def test_datetimes_are_iso_8601_in_utc() -> None:
    local = datetime(2026, 1, 2, 10, 4, 5, 123456, tzinfo=timezone(timedelta(hours=7)))
    data = converter.unstructure(RecordingRef(expires_at=local))
    assert data["expires_at"] == "2026-01-02T03:04:05.123456+00:00"


def test_enums_are_written_as_values() -> None:
    data = converter.unstructure(CallRecord(call_id="c", provider="p", plugin="x", status="busy"))
    assert data["status"] == "busy"
    assert converter.unstructure(HangupCause("busy"))["category"] == "busy"


def test_bytes_are_base64() -> None:
    data = converter.unstructure(AudioUpload(data=b"\x00\xffabc", filename="a.wav"))
    assert data["data"] == "AP9hYmM="
    assert converter.structure(data, AudioUpload).data == b"\x00\xffabc"


@pytest.mark.parametrize(
    ("prompt", "tag"),
    [
        (Speech("Hi", "en"), "speech"),
        (Template("t", ["a"]), "template"),
        (Audio("f"), "audio"),
        (VerificationCode("1234"), "verification_code"),
    ],
)
def test_prompts_carry_a_type_tag(prompt: Any, tag: str) -> None:
    data = converter.unstructure(VoiceNotification("+8613800000100", [prompt]))
    assert data["prompts"][0]["type"] == tag
    assert converter.structure(data, VoiceNotification).prompts == (prompt,)


def test_z_suffix_is_read_as_utc() -> None:
    data = {"call_id": "c", "provider": "p", "plugin": "x", "accepted_at": "2026-01-02T03:04:05Z"}
    assert converter.structure(data, SendReceipt).accepted_at == datetime(
        2026, 1, 2, 3, 4, 5, tzinfo=UTC
    )


def test_decimal_ints_are_accepted() -> None:
    assert converter.structure({"amount": 3, "currency": "EUR"}, Money) == Money("3", "EUR")


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (Money, {"amount": 0.1, "currency": "USD"}),  # a float amount
        (Money, {"amount": "ten", "currency": "USD"}),
        (RecordingRef, {"expires_at": "2026-01-02T03:04:05"}),  # naive
        (RecordingRef, {"expires_at": 1767323045}),  # not ISO text
        (AudioUpload, {"data": "not base64!", "filename": "a.wav"}),
        (VoiceNotification, {"to": "+8613800000100", "prompts": [{"type": "video"}]}),
        (VoiceNotification, {"to": "+8613800000100", "prompts": [{"text": "untagged"}]}),
        (CallRecord, {"call_id": "c", "provider": "p", "plugin": "x", "status": "exploded"}),
    ],
)
def test_bad_data_is_refused(cls: type[Any], data: dict[str, Any]) -> None:
    # cattrs raises its own validation errors (grouping the causes) or the hook's ValueError.
    with pytest.raises((BaseValidationError, ValueError, ValidationError)):
        converter.structure(data, cls)


def test_structured_models_are_validated() -> None:
    data = {"to": "12345", "prompts": [{"type": "audio", "file_id": "f"}]}
    with pytest.raises((BaseValidationError, ValidationError)) as info:
        converter.structure(data, VoiceNotification)
    causes = getattr(info.value, "exceptions", [info.value])
    assert any(isinstance(e, ValidationError) and "to must be E.164" in e.message for e in causes)


def test_dumps_and_loads_model() -> None:
    receipt = SendReceipt(
        call_id="c1", provider="a", plugin="sandbox", accepted_at=T0, raw={"k": "v"}
    )
    text = dumps_model(receipt)
    assert '"accepted_at":"2026-01-02T03:04:05.123456+00:00"' in text
    assert " " not in text.replace("c1", "")  # compact separators
    assert loads_model(text, SendReceipt) == receipt
    assert loads_model(text.encode(), SendReceipt) == receipt


def test_dumps_model_keeps_unicode() -> None:
    assert '"Xin chào"' in dumps_model(Speech("Xin chào", "vi"))


def test_decimal_precision_survives() -> None:
    money = Money("0.0236250000000000000001", "USD")
    assert round_trip(money, Money).amount == Decimal("0.0236250000000000000001")
