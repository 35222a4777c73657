"""Speaker commands: list, rename, merge, match (filled in with diarization)."""
