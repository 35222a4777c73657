"""CLI basics that need no model: start-up imports, init, list, errors as one line."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archive.cli import main

HEAVY = ("faster_whisper", "ctranslate2", "torch", "onnxruntime")


@pytest.mark.parametrize("args", [["--help"], ["list"], ["search", "--help"]])
def test_startup_never_imports_heavy_modules(tmp_path: Path, args):
    arch = tmp_path / "a"
    code = (
        "import sys\n"
        "from archive.cli import main\n"
        "try:\n"
        f"    main({['--archive', str(arch)] + args!r}, standalone_mode=False)\n"
        "except SystemExit:\n"
        "    pass\n"
        f"bad = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "print('HEAVY:' + ','.join(bad))\n")
    subprocess.run([sys.executable, "-m", "archive", "--archive", str(arch), "init"],
                   check=True, capture_output=True)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "HEAVY:" in r.stdout, r.stderr
    assert r.stdout.strip().split("HEAVY:")[-1] == ""


def test_init_list_empty_and_json(tmp_path: Path):
    runner = CliRunner()
    arch = str(tmp_path / "a")
    r = runner.invoke(main, ["--archive", arch, "init"])
    assert r.exit_code == 0 and "archive ready" in r.output
    r = runner.invoke(main, ["--archive", arch, "list"])
    assert r.exit_code == 0 and "empty" in r.output
    r = runner.invoke(main, ["--archive", arch, "list", "--json"])
    assert r.exit_code == 0 and json.loads(r.output) == []
    assert (Path(arch) / "custody.log").read_text().count('"event": "init"') == 1


def test_missing_archive_is_one_line_error(tmp_path: Path):
    r = CliRunner().invoke(main, ["--archive", str(tmp_path / "none"), "list"])
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archive: error: no archive at")


@pytest.mark.parametrize("args,needle", [
    (["show", "zz"], "not a recording id"),
    (["show", "abcd"], "no recording matches"),
    (["cite", "abcd@5-4"], "ends before it starts"),
    (["cite", "7"], "no previous search"),
    (["export", "abcd", "--format", "doc"], "Invalid value"),
])
def test_bad_references(tmp_path: Path, args, needle):
    arch = str(tmp_path / "a")
    runner = CliRunner()
    runner.invoke(main, ["--archive", arch, "init"])
    r = runner.invoke(main, ["--archive", arch, *args])
    assert r.exit_code != 0
    assert needle in r.output
    assert "Traceback" not in r.output


def test_add_reports_bad_files_and_continues(tmp_path: Path):
    arch = str(tmp_path / "a")
    d = tmp_path / "in"
    d.mkdir()
    (d / "empty.ogg").write_bytes(b"")
    (d / "notes.ogg").write_text("this is not audio\n" * 50)
    r = CliRunner().invoke(main, ["--archive", arch, "add", "-q", str(d)])
    assert r.exit_code == 1
    assert "empty.ogg: file is empty" in r.output
    assert "notes.ogg: not a readable audio file" in r.output
    assert "0 added, 0 already archived, 2 failed" in r.output
    assert not list((Path(arch) / "originals").glob("*/*"))


def _gpus() -> int:
    from archive.speech import whisper
    return whisper.cuda_device_count()


@pytest.mark.parametrize("how", ["option", "env"])
def test_add_on_cuda_without_a_gpu_is_one_line_error(tmp_path: Path, monkeypatch, how):
    if _gpus():
        pytest.skip("this machine has a CUDA GPU")
    src = tmp_path / "in.wav"
    src.write_bytes(b"RIFF")  # never read: the device is checked first
    arch = tmp_path / "a"
    args = ["--archive", str(arch), "add", "-q", str(src)]
    if how == "option":
        monkeypatch.delenv("ARCHIVE_DEVICE", raising=False)
        args += ["--device", "cuda"]
    else:
        monkeypatch.setenv("ARCHIVE_DEVICE", "cuda")
    r = CliRunner().invoke(main, args)
    assert r.exit_code != 0 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("archive: error: "), r.output
    assert "cuda" in lines[0] and "GPU" in lines[0]
    assert not arch.exists()  # nothing was created


def test_add_rejects_a_compute_type_the_cpu_lacks(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ARCHIVE_DEVICE", "cpu")
    r = CliRunner().invoke(main, ["--archive", str(tmp_path / "a"), "add", "-q",
                                  "--compute-type", "float16", str(tmp_path)])
    assert r.exit_code == 2 and "Traceback" not in r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1, r.output
    assert lines[0].startswith("archive: error: compute type 'float16' is not supported on cpu")
    assert "int8" in lines[0]
