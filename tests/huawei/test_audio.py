"""``to_platform_wav``: PCM WAV in, A-law mono 8 kHz WAV out, checked by parsing and decoding."""

from __future__ import annotations

import io
import math
import struct
import warnings
import wave
from typing import Any

import pytest

from voicegw.errors import ValidationError
from voicegw_huawei.aicc import detect_file_type
from voicegw_huawei.audio import PLATFORM_RATE, alaw_wav, to_platform_wav

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

AMPLITUDE = 12000
FREQUENCY = 440.0


def sine(rate: int, count: int, amplitude: float = AMPLITUDE) -> list[float]:
    return [amplitude * math.sin(2 * math.pi * FREQUENCY * i / rate) for i in range(count)]


def pcm_wav(rate: int, channels: int = 1, width: int = 2, seconds: float = 1.0) -> bytes:
    """A PCM WAV of a 440 Hz sine in every channel, written by the standard library."""
    count = int(rate * seconds)
    wave_ = sine(rate, count)
    frames = bytearray()
    for value in wave_:
        for _ in range(channels):
            if width == 1:
                frames += struct.pack("<B", round(value / 256) + 128)
            elif width == 2:
                frames += struct.pack("<h", round(value))
            else:
                frames += struct.pack("<i", round(value) << 16)[4 - width :]
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(width)
        writer.setframerate(rate)
        writer.writeframes(bytes(frames))
    return out.getvalue()


def parse_alaw_wav(data: bytes) -> dict[str, Any]:
    """Walk the RIFF chunks by hand (``wave`` cannot read A-law) and return what they say."""
    assert data[:4] == b"RIFF"
    assert data[8:12] == b"WAVE"
    (riff_size,) = struct.unpack_from("<I", data, 4)
    assert riff_size == len(data) - 8
    chunks: dict[str, bytes] = {}
    order: list[str] = []
    offset = 12
    while offset < len(data):
        name = data[offset : offset + 4].decode("ascii")
        (size,) = struct.unpack_from("<I", data, offset + 4)
        chunks[name] = data[offset + 8 : offset + 8 + size]
        order.append(name)
        offset += 8 + size + (size & 1)
    assert offset == len(data)
    fmt = chunks["fmt "]
    tag, channels, rate, byte_rate, align, bits, cb_size = struct.unpack("<HHIIHHH", fmt)
    (fact,) = struct.unpack("<I", chunks["fact"])
    return {
        "order": order,
        "fmt_size": len(fmt),
        "tag": tag,
        "channels": channels,
        "rate": rate,
        "byte_rate": byte_rate,
        "align": align,
        "bits": bits,
        "cb_size": cb_size,
        "fact": fact,
        "data": chunks["data"],
    }


def snr_db(decoded: bytes, rate: int = PLATFORM_RATE) -> float:
    """Signal-to-noise ratio of decoded 16-bit samples against the ideal sine at ``rate``."""
    samples = struct.unpack(f"<{len(decoded) // 2}h", decoded)
    ideal = sine(rate, len(samples))
    noise = sum((a - b) ** 2 for a, b in zip(samples, ideal, strict=True))
    signal = sum(b * b for b in ideal)
    return 10 * math.log10(signal / max(noise, 1e-9))


@pytest.mark.parametrize(
    ("rate", "channels", "width"),
    [
        (16000, 1, 2),
        (44100, 2, 2),
        (8000, 1, 2),
        (22050, 2, 1),
        (11025, 1, 1),
        (48000, 1, 3),
    ],
)
def test_output_is_alaw_mono_8khz_and_sounds_like_the_input(
    rate: int, channels: int, width: int
) -> None:
    native = to_platform_wav(pcm_wav(rate, channels, width))
    info = parse_alaw_wav(native)
    assert info["order"] == ["fmt ", "fact", "data"]
    assert info["fmt_size"] == 18
    assert (info["tag"], info["channels"], info["rate"]) == (6, 1, 8000)
    assert (info["byte_rate"], info["align"], info["bits"], info["cb_size"]) == (8000, 1, 8, 0)
    assert info["fact"] == len(info["data"])
    assert abs(len(info["data"]) - PLATFORM_RATE) <= 1  # one second of audio
    decoded = audioop.alaw2lin(info["data"], 2)
    threshold = 25.0 if width == 1 else 30.0  # 8-bit input carries its own quantization noise
    assert snr_db(decoded) > threshold


def test_a_silent_input_stays_silent() -> None:
    silence = io.BytesIO()
    with wave.open(silence, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(16000)
        writer.writeframes(b"\x00\x00" * 1600)
    info = parse_alaw_wav(to_platform_wav(silence.getvalue()))
    assert max(abs(s) for s in struct.unpack("<800h", audioop.alaw2lin(info["data"], 2))) <= 8


def test_stereo_is_mixed_down() -> None:
    rate, count = 8000, 800
    frames = bytearray()
    for value in sine(rate, count):
        frames += struct.pack("<hh", round(value), -round(value))  # opposite channels cancel
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(2)
        writer.setsampwidth(2)
        writer.setframerate(rate)
        writer.writeframes(bytes(frames))
    info = parse_alaw_wav(to_platform_wav(out.getvalue()))
    decoded = struct.unpack(f"<{count}h", audioop.alaw2lin(info["data"], 2))
    assert max(abs(s) for s in decoded) <= 16


def test_an_odd_number_of_samples_is_padded_as_riff_requires() -> None:
    native = alaw_wav(b"\xd5" * 3)
    assert len(native) % 2 == 0
    info = parse_alaw_wav(native)
    assert info["data"] == b"\xd5" * 3
    assert info["fact"] == 3
    assert native.endswith(b"\xd5\xd5\xd5\x00")


def test_the_output_is_recognised_as_wav_for_upload() -> None:
    assert detect_file_type(to_platform_wav(pcm_wav(16000, seconds=0.1))) == "wav"


def float_wav() -> bytes:
    fmt = struct.pack("<HHIIHH", 3, 1, 8000, 32000, 4, 32)
    data = b"\x00" * 16
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt + b"data" + struct.pack("<I", 16) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "RIFF/WAVE"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" * 8, "RIFF/WAVE"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "RIFF/WAVE"),
        (alaw_wav(b"\xd5" * 10), "A-law"),
        (float_wav(), "IEEE float"),
        (b"RIFF\x04\x00\x00\x00WAVE", "fmt"),
        (pcm_wav(8000, seconds=0.01)[:30], "truncated"),
        (pcm_wav(8000, seconds=0.0), "no audio"),
        (pcm_wav(8000, channels=3, seconds=0.01), "channels"),
    ],
)
def test_anything_but_pcm_wav_is_refused(data: bytes, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        to_platform_wav(data)
    assert caught.value.message.split()[0] == "data"
    assert words in caught.value.message


def test_a_truncated_pcm_file_is_refused_or_converted_but_never_crashes() -> None:
    full = pcm_wav(8000, seconds=0.05)
    outcomes = {"refused": 0, "converted": 0}
    for cut in range(0, len(full), 7):
        try:
            parse_alaw_wav(to_platform_wav(full[:cut]))
        except ValidationError:
            outcomes["refused"] += 1
        else:
            outcomes["converted"] += 1
    assert outcomes["refused"] > 0
    assert outcomes["converted"] > 0
