"""Where the speech model runs: the device and compute type asked for, checked against what
CTranslate2 finds on this machine (through :mod:`archive.speech.whisper`).

``auto`` (the default) takes a CUDA GPU when CTranslate2 sees one, with float16, and the CPU
otherwise, with int8; it never fails. ``cuda`` on a machine without a GPU is a named error.
"""

from __future__ import annotations

import os

from . import whisper
from ..errors import DeviceUnavailable, UsageError

#: Devices a user may ask for (``--device``, ``$ARCHIVE_DEVICE``).
DEVICES = ("auto", "cpu", "cuda")
#: Compute types tried in order on each device when none is given. int8 on the CPU ran jfk
#: in 1.7 s against 2.4 s for float32 with the same words; float16 is what GPUs are fast at
#: (int8 would cost a GPU user of large-v3 some accuracy for little speed).
DEFAULT_COMPUTE = {"cuda": ("float16", "int8_float16", "float32"), "cpu": ("int8", "float32")}


def choose_device(device: str | None = None, compute_type: str | None = None
                  ) -> tuple[str, str]:
    """The device and compute type to decode with.

    Args:
        device: ``auto`` (the default; also read from ``$ARCHIVE_DEVICE``), ``cpu`` or
            ``cuda``. ``auto`` takes the GPU when CTranslate2 sees one, else the CPU.
        compute_type: A CTranslate2 compute type (``int8``, ``float16``…); by default
            float16 on a GPU and int8 on the CPU (the first the device supports).

    Returns:
        (device, compute type), e.g. ``("cpu", "int8")``.

    Raises:
        UsageError: For an unknown device, or a compute type the device does not support.
        DeviceUnavailable: For ``cuda`` on a machine where CTranslate2 sees no GPU.
    """
    asked = (device or os.environ.get("ARCHIVE_DEVICE") or "auto").strip().lower()
    if asked not in DEVICES:
        raise UsageError(f"unknown device {asked!r}; use auto, cpu or cuda")
    gpus = whisper.cuda_device_count()
    if asked == "cuda" and gpus == 0:
        raise DeviceUnavailable("device cuda was asked for (--device or ARCHIVE_DEVICE), but "
                                "CTranslate2 sees no CUDA GPU here; use --device cpu or auto")
    chosen = "cuda" if asked == "cuda" or (asked == "auto" and gpus > 0) else "cpu"
    supported = whisper.compute_types(chosen)
    if compute_type:
        ct = compute_type.strip().lower()
        if ct not in supported | {"default", "auto"}:
            raise UsageError(f"compute type {ct!r} is not supported on {chosen} "
                             f"(supported: {', '.join(sorted(supported))})")
        return chosen, ct
    return chosen, next((c for c in DEFAULT_COMPUTE[chosen] if c in supported), "default")
