"""The value types: construction, validation (ValidationError naming the field), immutability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import phonenumbers
import pytest
from hypothesis import example, given, settings
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
    Prompt,
    RecordingRef,
    SendReceipt,
    Speech,
    Template,
    ValidationError,
    VerificationCode,
    VoiceNotification,
)
from voicegw.models import normalize_e164, utcnow

NUMBER = "+8613800000100"
HELLO = Speech("Hello", "en")
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
PLUS_7 = timezone(timedelta(hours=7))


# -- E.164 ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+8613800000100", "+8613800000100"),
        ("+86 138-0000-0100", "+8613800000100"),
        ("+86 (138) 0000.0100", "+8613800000100"),
        ("+84912345678", "+84912345678"),
        ("+14155550123", "+14155550123"),
    ],
)
def test_normalize_e164_accepts_and_compacts(raw: str, expected: str) -> None:
    assert normalize_e164(raw) == expected


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("8613800000100", "must be E.164"),  # no plus
        ("+0123456789", "must be E.164"),  # country code cannot start with 0
        ("+1234", "must be E.164"),  # too short
        ("+1234567890123456", "must be E.164"),  # too long
        ("+86138O0000100", "must be E.164"),  # a letter O
        ("+999123456789", "is not a phone number"),  # no such country code
        ("+1415555012", "impossible length"),  # NANP numbers have ten digits
        ("", "must be E.164"),
    ],
)
def test_normalize_e164_refuses(raw: str, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment) as info:
        normalize_e164(raw, field="callee")
    assert info.value.message.startswith("callee ")


def test_normalize_e164_refuses_non_strings() -> None:
    with pytest.raises(ValidationError, match="to must be a string"):
        normalize_e164(8613800000100, field="to")  # type: ignore[arg-type]


# -- prompts ----------------------------------------------------------------------------------


def test_prompt_alias_is_the_union_of_the_four_prompt_types() -> None:
    assert set(Prompt.__args__) == {Speech, Template, Audio, VerificationCode}  # type: ignore[attr-defined]


def test_speech_defaults_to_english() -> None:
    assert Speech("Hi").language == "en"


@pytest.mark.parametrize("language", ["en", "vi", "zh-CN", "zh-Hans-CN", "fil", "EN"])
def test_speech_accepts_bcp47_tags(language: str) -> None:
    assert Speech("Hi", language).language == language


@pytest.mark.parametrize(
    "language", ["", "e", "english!", "zh_CN", "en-", "12", "en-toolongsubtag"]
)
def test_speech_refuses_other_languages(language: str) -> None:
    with pytest.raises(ValidationError, match=r"^language must be a BCP-47 tag"):
        Speech("Hi", language)


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_speech_refuses_blank_text(text: str) -> None:
    with pytest.raises(ValidationError, match="^text must be a non-empty string"):
        Speech(text)


def test_template_params_become_a_tuple_of_strings() -> None:
    template = Template("welcome", ["Ada", "42"])
    assert template.params == ("Ada", "42")
    assert Template("bare").params == ()


def test_template_refuses_one_string_as_params() -> None:
    with pytest.raises(ValidationError, match="not one string"):
        Template("welcome", "Ada")


def test_template_refuses_non_string_params_naming_the_index() -> None:
    with pytest.raises(ValidationError, match=r"params\[1\] must be a string, got int"):
        Template("welcome", ["Ada", 42])  # type: ignore[list-item]


def test_template_and_audio_refuse_blank_ids() -> None:
    with pytest.raises(ValidationError, match="^template_id"):
        Template(" ")
    with pytest.raises(ValidationError, match="^file_id"):
        Audio("")


@pytest.mark.parametrize("digits", ["0", "583021", "1" * 16])
def test_verification_code_accepts_1_to_16_digits(digits: str) -> None:
    assert VerificationCode(digits).digits == digits


@pytest.mark.parametrize("digits", ["", "1" * 17, "12a4", "١٢٣", " 123", 123])
def test_verification_code_refuses_other_codes(digits: Any) -> None:
    with pytest.raises(ValidationError, match="^digits must be 1 to 16 digits"):
        VerificationCode(digits)


# -- digit collection -------------------------------------------------------------------------


def test_digit_collection_defaults() -> None:
    assert DigitCollection() == DigitCollection(max_digits=1, timeout=5, end_key=None)


@pytest.mark.parametrize("end_key", [*"0123456789", "*", "#"])
def test_digit_collection_accepts_every_dtmf_end_key(end_key: str) -> None:
    assert DigitCollection(end_key=end_key).end_key == end_key


@pytest.mark.parametrize("end_key", ["", "A", "##", "x"])
def test_digit_collection_refuses_other_end_keys(end_key: str) -> None:
    with pytest.raises(ValidationError, match="^end_key"):
        DigitCollection(end_key=end_key)


@pytest.mark.parametrize("value", [0, -1, True, 1.5, "3"])
def test_digit_collection_refuses_non_positive_counts(value: Any) -> None:
    with pytest.raises(ValidationError, match="^max_digits must be a whole number"):
        DigitCollection(max_digits=value)
    with pytest.raises(ValidationError, match="^timeout must be a whole number"):
        DigitCollection(timeout=value)


# -- the notification -------------------------------------------------------------------------


def test_notification_minimal() -> None:
    n = VoiceNotification(NUMBER, [HELLO])
    assert n.to == NUMBER
    assert n.prompts == (HELLO,)
    assert (n.caller_id, n.repeat, n.collect, n.max_duration, n.ring_timeout, n.reference) == (
        None,
        1,
        None,
        None,
        None,
        None,
    )
    assert n.options == {}


def test_notification_accepts_a_single_prompt() -> None:
    assert VoiceNotification(NUMBER, HELLO).prompts == (HELLO,)


def test_notification_keeps_every_prompt_type_in_order() -> None:
    prompts = [HELLO, Template("t", ["a"]), Audio("f1"), VerificationCode("1234")]
    assert VoiceNotification(NUMBER, prompts).prompts == tuple(prompts)


def test_notification_stores_the_number_in_e164_form() -> None:
    # DESIGN.md: ``to`` and ``caller_id`` are E.164 strings (``+`` and digits). Formatting that
    # the validator tolerates must not reach the providers.
    n = VoiceNotification("+86 138-0000-0100", [HELLO], caller_id="+84 912 345 678")
    assert n.to == "+8613800000100"
    assert n.caller_id == "+84912345678"


@pytest.mark.parametrize(
    ("prompts", "fragment"),
    [
        ([], "at least one prompt"),
        ("Hello", "must be a prompt or a sequence"),
        (b"Hello", "must be a prompt or a sequence"),
        (42, "must be a prompt or a sequence"),
        ([HELLO, "Hello"], r"prompts\[1\] must be Speech, Template, Audio or VerificationCode"),
    ],
)
def test_notification_refuses_bad_prompts(prompts: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        VoiceNotification(NUMBER, prompts)


@pytest.mark.parametrize("field", ["to", "caller_id"])
def test_notification_refuses_bad_numbers_naming_the_field(field: str) -> None:
    kwargs: dict[str, Any] = {"to": NUMBER, "prompts": [HELLO], field: "12345"}
    with pytest.raises(ValidationError, match=f"^{field} must be E.164"):
        VoiceNotification(**kwargs)


@pytest.mark.parametrize("field", ["repeat", "max_duration", "ring_timeout"])
@pytest.mark.parametrize("value", [0, -3, True, 2.0])
def test_notification_refuses_non_positive_whole_numbers(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"^{field} must be a whole number ≥ 1"):
        VoiceNotification(NUMBER, [HELLO], **{field: value})


def test_notification_reference_is_limited_to_1000_characters() -> None:
    assert VoiceNotification(NUMBER, [HELLO], reference="r" * 1000).reference == "r" * 1000
    with pytest.raises(ValidationError, match="^reference must be a string of at most 1000"):
        VoiceNotification(NUMBER, [HELLO], reference="r" * 1001)


def test_notification_options_are_copied() -> None:
    options = {"speakingRate": "1.5"}
    n = VoiceNotification(NUMBER, [HELLO], options=options)
    options["speakingRate"] = "3"
    assert n.options == {"speakingRate": "1.5"}


def test_models_are_frozen() -> None:
    n = VoiceNotification(NUMBER, [HELLO])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        n.to = "+84912345678"  # type: ignore[misc]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        HELLO.text = "Bye"  # type: ignore[misc]


def test_models_are_slotted() -> None:
    for cls in (VoiceNotification, Speech, CallRecord, Money, SendReceipt, CallEvent):
        assert "__slots__" in cls.__dict__, cls


# -- click to call ----------------------------------------------------------------------------


def test_click_to_call_is_keyword_only_and_validated() -> None:
    request = ClickToCall(caller=NUMBER, callee="+84912345678", record=True, max_duration=60)
    assert (request.caller, request.callee, request.record) == (NUMBER, "+84912345678", True)
    with pytest.raises(TypeError):
        ClickToCall(NUMBER, "+84912345678")  # type: ignore[misc]
    with pytest.raises(ValidationError, match="^callee must be E.164"):
        ClickToCall(caller=NUMBER, callee="0912")
    with pytest.raises(ValidationError, match="^callee_display must be E.164"):
        ClickToCall(caller=NUMBER, callee=NUMBER, callee_display="x")
    with pytest.raises(ValidationError, match="^max_duration"):
        ClickToCall(caller=NUMBER, callee=NUMBER, max_duration=0)


# -- money ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "expected"),
    [("0.023625", Decimal("0.023625")), (3, Decimal(3)), (Decimal("1.50"), Decimal("1.50"))],
)
def test_money_takes_strings_ints_and_decimals(amount: Any, expected: Decimal) -> None:
    money = Money(amount, "USD")
    assert money.amount == expected
    assert isinstance(money.amount, Decimal)


@pytest.mark.parametrize(
    ("amount", "fragment"),
    [
        (0.1, "must not be floats"),
        (True, "got a bool"),
        ("ten", "not a money amount"),
        (None, "not a money amount"),
        ("NaN", "must be finite"),
        ("Infinity", "must be finite"),
    ],
)
def test_money_refuses_floats_and_garbage(amount: Any, fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        Money(amount, "USD")


@pytest.mark.parametrize("currency", ["usd", "US", "USDT", "", 840])
def test_money_refuses_bad_currencies(currency: Any) -> None:
    with pytest.raises(ValidationError, match="^currency must be a three-letter ISO 4217"):
        Money("1", currency)


# -- outcomes ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "final", "rank"),
    [
        (CallStatus.QUEUED, False, 0),
        (CallStatus.RINGING, False, 1),
        (CallStatus.IN_PROGRESS, False, 2),
        (CallStatus.COMPLETED, True, 3),
        (CallStatus.BUSY, True, 3),
        (CallStatus.NO_ANSWER, True, 3),
        (CallStatus.REJECTED, True, 3),
        (CallStatus.FAILED, True, 3),
        (CallStatus.CANCELED, True, 3),
    ],
)
def test_call_status_finality_and_rank(status: CallStatus, final: bool, rank: int) -> None:
    assert status.is_final is final
    assert status.rank == rank


def test_enumerations_hold_the_design_values() -> None:
    assert [s.value for s in CallStatus] == [
        "queued",
        "ringing",
        "in_progress",
        "completed",
        "busy",
        "no_answer",
        "rejected",
        "failed",
        "canceled",
    ]
    assert {c.value for c in HangupCategory} == {
        "normal",
        "busy",
        "no_answer",
        "rejected",
        "invalid_number",
        "unreachable",
        "network_error",
        "congestion",
        "canceled",
        "blocked",
        "unknown",
    }
    assert {k.value for k in EventKind} >= {
        "initiated",
        "ringing",
        "answered",
        "digits",
        "ended",
        "record",
    }
    assert {s.value for s in AudioStatus} == {"pending", "approved", "rejected"}


def test_hangup_cause_converts_its_category() -> None:
    cause = HangupCause("busy", q850=17)
    assert cause.category is HangupCategory.BUSY
    assert (cause.sip, cause.provider_code, cause.description) == (None, None, "")
    with pytest.raises(ValueError, match="nonsense"):
        HangupCause("nonsense")


def test_record_defaults_everything_after_status() -> None:
    record = CallRecord(call_id="c1", provider="p", plugin="sandbox")
    assert record.status is CallStatus.QUEUED
    for field in attrs.fields(CallRecord)[
        attrs.fields(CallRecord).index(attrs.fields_dict(CallRecord)["status"]) + 1 :
    ]:
        assert field.default is not attrs.NOTHING, field.name


def test_record_converts_status_strings_and_times_to_utc() -> None:
    local = datetime(2026, 1, 2, 10, 4, 5, tzinfo=PLUS_7)
    record = CallRecord(call_id="c1", provider="p", plugin="x", status="busy", ended_at=local)
    assert record.status is CallStatus.BUSY
    assert record.ended_at == T0
    assert record.ended_at.tzinfo is UTC


@pytest.mark.parametrize(
    "field", ["submitted_at", "started_at", "ringing_at", "answered_at", "ended_at"]
)
def test_record_refuses_naive_datetimes(field: str) -> None:
    with pytest.raises(ValidationError, match="timezone-aware"):
        CallRecord(call_id="c1", provider="p", plugin="x", **{field: datetime(2026, 1, 2)})


def test_record_refuses_non_datetimes() -> None:
    with pytest.raises(ValidationError, match="expected a datetime, got str"):
        CallRecord(call_id="c1", provider="p", plugin="x", ended_at="2026-01-02")  # type: ignore[arg-type]


@pytest.mark.parametrize("field", ["duration", "billed_duration"])
@pytest.mark.parametrize("value", [-1, True, 1.5])
def test_record_refuses_bad_durations(field: str, value: Any) -> None:
    with pytest.raises(ValidationError, match=f"^{field} must be whole seconds ≥ 0"):
        CallRecord(call_id="c1", provider="p", plugin="x", **{field: value})


def test_record_accepts_zero_duration() -> None:
    assert CallRecord(call_id="c", provider="p", plugin="x", duration=0).duration == 0


def test_raw_payloads_stay_out_of_reprs() -> None:
    raw = {"secretish": "PAYLOAD-123"}
    record = CallRecord(call_id="c1", provider="p", plugin="x", raw=raw)
    receipt = SendReceipt(call_id="c1", provider="p", plugin="x", accepted_at=T0, raw=raw)
    event = CallEvent(kind="record", call_id="c1", provider="p", raw=raw)
    for model in (record, receipt, event):
        assert "PAYLOAD-123" not in repr(model)
        assert model.raw == raw


def test_recording_ref_normalizes_expiry() -> None:
    ref = RecordingRef(
        url="https://x.invalid/r.mp3", expires_at=datetime(2026, 1, 2, 10, 4, 5, tzinfo=PLUS_7)
    )
    assert ref.expires_at == T0
    assert RecordingRef().expires_at is None
    with pytest.raises(ValidationError):
        RecordingRef(expires_at=datetime(2026, 1, 2))


def test_attempt_defaults_to_a_success() -> None:
    attempt = Attempt(provider="a", plugin="sandbox")
    assert (attempt.error, attempt.code, attempt.message) == (None, None, None)
    assert attempt.call_placed is True
    assert attempt.duration == 0.0


def test_send_receipt_requires_an_aware_accepted_at() -> None:
    receipt = SendReceipt(
        call_id="c1",
        provider="a",
        plugin="sandbox",
        accepted_at=datetime(2026, 1, 2, 10, 4, 5, tzinfo=PLUS_7),
        attempts=[Attempt(provider="a", plugin="sandbox")],
    )
    assert receipt.accepted_at == T0
    assert receipt.attempts == (Attempt(provider="a", plugin="sandbox"),)
    assert receipt.reference is None
    with pytest.raises(ValidationError, match="timezone-aware"):
        SendReceipt(call_id="c1", provider="a", plugin="x", accepted_at=datetime(2026, 1, 2))
    with pytest.raises(ValidationError):
        SendReceipt(call_id="c1", provider="a", plugin="x", accepted_at=None)  # type: ignore[arg-type]


def test_call_event_converts_its_kind_and_carries_records_and_audio() -> None:
    record = CallRecord(call_id="c1", provider="p", plugin="x", status="completed")
    event = CallEvent(kind="record", call_id="c1", provider="p", at=T0, record=record)
    assert event.kind is EventKind.RECORD
    assert event.record is record
    audio = AudioFile(file_id="f", provider="p", status="approved")
    reviewed = CallEvent(kind=EventKind.AUDIO_REVIEWED, call_id="", provider="p", audio=audio)
    assert reviewed.audio is audio
    with pytest.raises(ValueError, match="nonsense"):
        CallEvent(kind="nonsense", call_id="c1", provider="p")


# -- audio ------------------------------------------------------------------------------------


def test_audio_upload_shows_its_size_not_its_bytes() -> None:
    upload = AudioUpload(data=b"RIFF-secret-bytes", filename="a.wav")
    assert "<17 bytes>" in repr(upload)
    assert "secret" not in repr(upload)
    assert (upload.language, upload.purpose, upload.name) == ("en", "notification", None)


@pytest.mark.parametrize("data", [b"", "text", None])
def test_audio_upload_refuses_empty_or_non_bytes(data: Any) -> None:
    with pytest.raises(ValidationError, match="non-empty bytes"):
        AudioUpload(data=data, filename="a.wav")


def test_audio_upload_checks_filename_and_language() -> None:
    with pytest.raises(ValidationError, match="^filename"):
        AudioUpload(data=b"x", filename="")
    with pytest.raises(ValidationError, match="^language"):
        AudioUpload(data=b"x", filename="a.wav", language="nope!")


def test_audio_file_defaults_to_pending() -> None:
    assert AudioFile(file_id="f", provider="p").status is AudioStatus.PENDING
    assert AudioFile(file_id="f", provider="p", status="rejected").status is AudioStatus.REJECTED


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs((datetime.now(UTC) - now).total_seconds()) < 5


def test_a_trunk_zero_after_the_country_code_is_dropped() -> None:
    assert normalize_e164("+44 (0)20 7946 0018") == "+442079460018"
    assert normalize_e164("+33 0575953007") == "+33575953007"


def test_an_italian_leading_zero_is_part_of_the_number() -> None:
    assert normalize_e164("+39 06 6982 1234") == "+390669821234"


@settings(max_examples=400, deadline=None)
@given(
    code=st.sampled_from(sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)),
    national=st.text(alphabet="0123456789", min_size=4, max_size=13),
)
@example(code=359, national="0000000000")
def test_e164_acceptance_matches_the_phonenumbers_parser(code: int, national: str) -> None:
    number = f"+{code}{national}"
    if not 8 <= len(number) <= 16:
        return
    try:
        parsed = phonenumbers.parse(number, None)
        expected = phonenumbers.is_possible_number(parsed)
    except phonenumbers.NumberParseException:
        expected = False
    try:
        normalized = normalize_e164(number)
    except ValidationError:
        assert not expected
    else:
        assert expected
        # The number as written, or, when only the parser could read it (a trunk zero after the
        # country code), the parser's E.164 form of it. Parsing that form again may drop one
        # more zero ("+359 0 000000000"), so it is compared as text, not parsed back.
        e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
        assert normalized in (number, e164)
