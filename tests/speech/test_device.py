"""Where the model runs: device and compute type chosen from what CTranslate2 finds here,
with named one-line errors for a device that is not there or a name that is not known."""

from __future__ import annotations

import pytest

from archive.errors import DeviceUnavailable, UsageError
from archive.speech import device, whisper

GPU = whisper.cuda_device_count() > 0


def test_cpu_is_int8_and_compute_type_can_be_overridden(monkeypatch):
    monkeypatch.delenv("ARCHIVE_DEVICE", raising=False)
    assert device.choose_device("cpu") == ("cpu", "int8")
    assert device.choose_device("CPU", "float32") == ("cpu", "float32")
    with pytest.raises(UsageError, match="not supported on cpu"):
        device.choose_device("cpu", "float16")  # CTranslate2 has no float16 on the CPU


def test_auto_picks_what_the_machine_has_and_never_fails(monkeypatch):
    monkeypatch.delenv("ARCHIVE_DEVICE", raising=False)
    expected = ("cuda", "float16") if GPU else ("cpu", "int8")
    assert device.choose_device() == expected
    assert device.choose_device("auto") == expected


@pytest.mark.skipif(GPU, reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_a_named_one_line_error(monkeypatch):
    monkeypatch.delenv("ARCHIVE_DEVICE", raising=False)
    with pytest.raises(DeviceUnavailable) as e:
        device.choose_device("cuda")
    assert "\n" not in str(e.value) and "cuda" in str(e.value)
    monkeypatch.setenv("ARCHIVE_DEVICE", "cuda")
    with pytest.raises(DeviceUnavailable):
        device.choose_device()


def test_device_from_the_environment_and_bad_names(monkeypatch):
    monkeypatch.setenv("ARCHIVE_DEVICE", "cpu")
    assert device.choose_device() == ("cpu", "int8")
    assert device.choose_device("auto")[0] == ("cuda" if GPU else "cpu")  # the option wins
    monkeypatch.setenv("ARCHIVE_DEVICE", "gpu")
    with pytest.raises(UsageError, match="unknown device"):
        device.choose_device()
