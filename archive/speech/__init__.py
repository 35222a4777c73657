"""Audio to words: decoding and probing (PyAV), the speech model (found offline and hashed),
transcription with faster-whisper, long-recording windows, word-onset refinement, screening
of text over silence, hotword-echo removal, and the re-timing of corrected words.

May import: evidence (hashing helpers) and the base modules.

Public face: :mod:`.audio` (probe, decode), :mod:`.transcribe` (resolve_model,
transcribe, align_text, speech_regions), :mod:`.model` (model names and hashes),
:mod:`.refine` (frame_levels, refine_words), :mod:`.retime` (Aligner, Refiner,
retime_segment). :mod:`.whisper` (the only importer of faster-whisper and CTranslate2),
:mod:`.device` (the device and compute type), :mod:`.fallback` (Whisper's checks and the
retries that replace sampling), :mod:`.longform`, :mod:`.energy`, :mod:`.screen` and
:mod:`.echo` are internal.
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["audio", "transcribe", "model", "refine", "retime"]
