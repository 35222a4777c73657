"""Giving a quote to the world: citations pinned to the original's SHA-256, offset and
revision; audio clips with manifests; exports to txt, srt, vtt, json and rttm.

May import: search (quote alignment for a citation), speech (probing for clips),
evidence and the base modules.

Public face: :mod:`.cite` (cite, clip, verification), :mod:`.export` (export),
:mod:`.clips` (play_command), :mod:`.playback` (audio a browser can play).
"""

#: The modules other packages may import (tests/test_architecture.py checks it).
__all__ = ["cite", "export", "clips", "playback"]
