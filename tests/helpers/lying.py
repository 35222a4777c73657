"""Byte-level builders for media that lies about itself or decodes to far more than its size.

- :func:`constant_flac`: a valid FLAC of any length made of CONSTANT subframes (24 h of
  48 kHz silence is about 16 MB), optionally announcing another sample count.
- :func:`patch_xing_frames`: an MP3 whose Xing/Info header claims another frame count.
- :func:`wav_header`: a RIFF/WAVE header with any rate, channel count and data size.
"""

from __future__ import annotations

import struct
from pathlib import Path


_CRC8 = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = ((_c << 1) ^ 0x07) & 0xFF if _c & 0x80 else (_c << 1) & 0xFF
    _CRC8.append(_c)


def _crc8(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = _CRC8[crc ^ b]
    return crc


_CRC16 = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x8005) & 0xFFFF if _c & 0x8000 else (_c << 1) & 0xFFFF
    _CRC16.append(_c)


def _crc16(data: bytes) -> int:
    crc = 0
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ _CRC16[(crc >> 8) ^ b]
    return crc


def _utf8_number(n: int) -> bytes:
    """FLAC's UTF-8-like coding of a frame number (up to 31 bits)."""
    if n < 0x80:
        return bytes([n])
    out = []
    nbytes = 2 if n < 0x800 else 3 if n < 0x10000 else 4 if n < 0x200000 else \
        5 if n < 0x4000000 else 6
    for _ in range(nbytes - 1):
        out.append(0x80 | (n & 0x3F))
        n >>= 6
    lead = (0xFF << (8 - nbytes)) & 0xFF
    return bytes([lead | n] + out[::-1])


def constant_flac(path: Path, seconds: float, *, rate: int = 48000, block: int = 65535,
                  value: int = 0, announce: int | None = None) -> Path:
    """A mono 16-bit FLAC of ``seconds`` of a constant sample ``value``.

    Args:
        announce: Total samples written into STREAMINFO (default: the true count; 0 means
            "unknown", which makes a decoder find the length by decoding).
    """
    total = int(seconds * rate)
    frames, last = divmod(total, block)
    info = struct.pack(">HH", block, block) + (0).to_bytes(3, "big") + (0).to_bytes(3, "big")
    count = total if announce is None else announce
    # 20 bits rate, 3 bits channels-1, 5 bits bps-1, 36 bits total samples
    packed = (rate << 44) | (0 << 41) | (15 << 36) | (count & ((1 << 36) - 1))
    info += packed.to_bytes(8, "big") + bytes(16)
    head = b"fLaC" + bytes([0x80]) + len(info).to_bytes(3, "big") + info
    rate_code = {8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10,
                 96000: 11}[rate]
    sub = bytes([0x00]) + struct.pack(">h", value)  # CONSTANT subframe, no wasted bits

    def frame(num: int, size: int) -> bytes:
        hdr = bytes([0xFF, 0xF8, (7 << 4) | rate_code, (0 << 4) | (4 << 1)])
        hdr += _utf8_number(num) + struct.pack(">H", size - 1)
        hdr += bytes([_crc8(hdr)])
        body = hdr + sub
        return body + struct.pack(">H", _crc16(body))

    with open(path, "wb") as f:
        f.write(head)
        for k in range(frames):
            f.write(frame(k, block))
        if last:
            f.write(frame(frames, last))
    return path


def patch_xing_frames(src: Path, dest: Path, frames: int | None = None, *,
                      factor: int = 1) -> Path:
    """A copy of an MP3 whose Xing/Info header counts ``frames`` frames (default: ``factor``
    times the true count)."""
    data = bytearray(src.read_bytes())
    i = max(data.find(b"Xing"), data.find(b"Info"))
    if i < 0 or not data[i + 7] & 1:
        raise ValueError(f"{src} has no Xing/Info frame count")
    if frames is None:
        frames = factor * struct.unpack(">I", data[i + 8:i + 12])[0]
    data[i + 8:i + 12] = struct.pack(">I", frames)
    dest.write_bytes(bytes(data))
    return dest


def wav_header(rate: int, channels: int = 1, bits: int = 16, data_size: int = 0) -> bytes:
    """A canonical 44-byte PCM WAV header."""
    align = channels * bits // 8
    return (b"RIFF" + struct.pack("<I", (36 + data_size) & 0xFFFFFFFF) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, channels, rate, rate * align, align, bits)
            + b"data" + struct.pack("<I", data_size & 0xFFFFFFFF))
