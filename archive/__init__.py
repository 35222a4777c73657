"""archive: an evidence archive for leaked voice notes, calls and interviews.

Recordings go in, are kept byte-for-byte, transcribed offline with faster-whisper, split by
speaker, and indexed so that a quote can be found, heard and cited to the tenth of a second.
"""

__version__ = "0.1.0"
