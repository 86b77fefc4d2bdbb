"""Audio in the format Huawei's platform plays: A-law, mono, 8 kHz, 8 bits per sample.

AICC runs every uploaded WAV or MP3 through ffmpeg into that format and warns that quality
may suffer and data may be lost (spec §16.2). :func:`to_platform_wav` does the conversion on
your side instead, with the standard library's ``wave`` and the ``audioop`` A-law codec
(``audioop-lts`` on Python 3.13 and later), so that what you upload — and can listen to
before you do — is exactly what the platform plays: its own transcoding has nothing left to
change.

>>> import io, wave
>>> pcm = io.BytesIO()
>>> with wave.open(pcm, "wb") as w:
...     w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000)
...     w.writeframes(b"\\x00\\x00" * 1600)
>>> native = to_platform_wav(pcm.getvalue())
>>> native[:4], native[20:22]   # RIFF, and format tag 6 (A-law)
(b'RIFF', b'\\x06\\x00')
"""

from __future__ import annotations

import io
import struct
import warnings
import wave
from typing import Final

from voicegw.errors import ValidationError

with warnings.catch_warnings():
    # The standard library's audioop is deprecated (removed in 3.13, where the maintained
    # port audioop-lts provides the same module); it is exactly the codec we need.
    warnings.simplefilter("ignore", DeprecationWarning)
    import audioop

__all__ = ["PLATFORM_RATE", "WAVE_FORMAT_ALAW", "alaw_wav", "to_platform_wav"]

#: What the platform plays: 8000 samples per second, mono, 8-bit A-law.
PLATFORM_RATE: Final = 8000
#: The WAVE format tag of ITU-T G.711 A-law.
WAVE_FORMAT_ALAW: Final = 6
WAVE_FORMAT_PCM: Final = 1
_FORMAT_NAMES: Final = {
    3: "IEEE float",
    6: "A-law (already the platform's format)",
    7: "µ-law",
    0x55: "MP3",
    0xFFFE: "WAVE_FORMAT_EXTENSIBLE",
}


def _format_tag(data: bytes) -> int | None:
    """The format tag of the first ``fmt `` chunk of a RIFF/WAVE file, if it has one."""
    offset = 12
    while offset + 8 <= len(data):
        chunk = data[offset : offset + 4]
        (size,) = struct.unpack_from("<I", data, offset + 4)
        if chunk == b"fmt ":
            if offset + 10 > len(data):
                return None
            (tag,) = struct.unpack_from("<H", data, offset + 8)
            return int(tag)
        offset += 8 + size + (size & 1)
    return None


def _read_pcm(data: bytes) -> tuple[int, int, int, bytes]:
    """``(channels, sample width, rate, frames)`` of a PCM WAV, or :class:`ValidationError`."""
    if not isinstance(data, bytes | bytearray) or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValidationError("data must be a WAV file (RIFF/WAVE header missing)")
    tag = _format_tag(bytes(data))
    if tag is None:
        raise ValidationError("data is a WAV file without a readable fmt chunk")
    if tag != WAVE_FORMAT_PCM:
        name = _FORMAT_NAMES.get(tag, f"format tag {tag}")
        raise ValidationError(f"data must be PCM WAV; this one is {name}")
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except EOFError:
        raise ValidationError("data is not a readable PCM WAV file: it is truncated") from None
    except (wave.Error, struct.error, ValueError) as exc:
        raise ValidationError(f"data is not a readable PCM WAV file: {exc}") from None
    if channels not in (1, 2):
        raise ValidationError(f"data has {channels} channels; only mono and stereo are converted")
    if width not in (1, 2, 3, 4):
        raise ValidationError(f"data has {width * 8}-bit samples; 8 to 32 bits are converted")
    if rate <= 0:
        raise ValidationError(f"data has a sample rate of {rate} Hz")
    frames = frames[: len(frames) - len(frames) % (channels * width)]
    if not frames:
        raise ValidationError("data holds no audio samples")
    return channels, width, rate, frames


def alaw_wav(samples: bytes, rate: int = PLATFORM_RATE) -> bytes:
    """A mono A-law WAV file around ``samples`` (one byte each).

    ``wave`` writes only PCM, so the RIFF header is built here: a ``fmt `` chunk of 18 bytes
    (format tag 6, ``cbSize`` 0), the ``fact`` chunk that non-PCM formats carry (the number of
    samples), then ``data`` (padded to an even length, as RIFF chunks are).
    """
    count = len(samples)
    pad = b"\x00" * (count & 1)
    fmt = struct.pack("<HHIIHHH", WAVE_FORMAT_ALAW, 1, rate, rate, 1, 8, 0)
    fact = struct.pack("<I", count)
    chunks = [
        b"fmt " + struct.pack("<I", len(fmt)) + fmt,
        b"fact" + struct.pack("<I", len(fact)) + fact,
        b"data" + struct.pack("<I", count) + samples + pad,
    ]
    body = b"WAVE" + b"".join(chunks)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def to_platform_wav(data: bytes) -> bytes:
    """Convert a PCM WAV (8 to 32 bits, mono or stereo, any rate) to the platform's format.

    Stereo is mixed down to mono, the rate converted to 8 kHz (``audioop.ratecv``: linear
    interpolation, no anti-alias filter — fine for speech, which the 8 kHz telephone band
    cuts at 4 kHz anyway), then encoded as A-law. Anything that is not a PCM WAV file raises
    :class:`~voicegw.errors.ValidationError`, including a WAV that is already A-law.
    """
    channels, width, rate, frames = _read_pcm(data)
    if width == 1:
        frames = audioop.bias(frames, 1, -128)  # 8-bit WAV samples are unsigned
    if width != 2:
        frames = audioop.lin2lin(frames, width, 2)
    if channels == 2:
        frames = audioop.tomono(frames, 2, 0.5, 0.5)
    if rate != PLATFORM_RATE:
        frames, _ = audioop.ratecv(frames, 2, 1, rate, PLATFORM_RATE, None)
    return alaw_wav(audioop.lin2alaw(frames, 2))
