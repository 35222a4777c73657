"""Who spoke when: GE2E voiceprints, clustering, diarization of mono and per-channel
recordings, and the pure side of naming, merging and matching speakers.

May import: speech, evidence and the base modules; never search or citing.

Public face: :mod:`.diarize` (diarize, assign speakers), :mod:`.naming` (renamed, merged,
matches, find_speaker, VoiceMatch). :mod:`.voice` and :mod:`.clustering` are internal.
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["diarize", "naming"]
