"""Speaker embeddings (GE2E d-vectors) from resemblyzer's pretrained speaker encoder.

The network (3-layer LSTM 40->256, linear 256->256, ReLU, L2 norm) ships inside the package as
ONNX (``weights/ge2e.onnx``, converted once from resemblyzer's Apache-2.0 ``pretrained.pt`` by
``bench/tools/convert_ge2e.py``; licence and provenance beside it) and runs on onnxruntime, which
faster-whisper already needs. Loading it parses protobuf, never a pickle, and checks the file's
SHA-256 first. The mel features are computed with numpy and match
``librosa.feature.melspectrogram`` as resemblyzer calls it (16 kHz, 25 ms Hann window, 10 ms
hop, 40 Slaney mel bands, power spectrum, not log).

This is the only module that imports onnxruntime, and it does so lazily.
"""

from __future__ import annotations

import hashlib
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from ..errors import DiarizationError

SAMPLE_RATE = 16000
N_FFT = 400          # 25 ms
HOP = 160            # 10 ms
N_MELS = 40
FRAMES_PER_SECOND = SAMPLE_RATE // HOP
EMBEDDING_SIZE = 256
#: Loudness the encoder was trained on (resemblyzer normalises up to it, never down).
TARGET_DBFS = -30.0
#: Shortest window worth embedding, in seconds.
MIN_WINDOW = 0.2

_INT16_MAX = 2 ** 15 - 1
_lock = threading.Lock()


# --- mel features (numpy) -------------------------------------------------------------------

def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    # Slaney's auditory-toolbox scale, linear below 1 kHz and logarithmic above (librosa htk=False).
    f = np.asarray(f, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(f >= 1000.0, min_log_mel + np.log(np.maximum(f, 1e-10) / 1000.0) / logstep,
                    f / f_sp)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    m = np.asarray(m, dtype=np.float64)
    f_sp = 200.0 / 3
    min_log_mel = 1000.0 / f_sp
    logstep = np.log(6.4) / 27.0
    return np.where(m >= min_log_mel, 1000.0 * np.exp(logstep * (m - min_log_mel)), f_sp * m)


@lru_cache(maxsize=1)
def mel_filterbank() -> np.ndarray:
    """The (40, 201) Slaney-normalised mel filterbank, as ``librosa.filters.mel`` builds it."""
    fft_freqs = np.linspace(0, SAMPLE_RATE / 2, 1 + N_FFT // 2)
    mel_f = _mel_to_hz(np.linspace(_hz_to_mel(0.0), _hz_to_mel(SAMPLE_RATE / 2), N_MELS + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, fft_freqs)
    weights = np.zeros((N_MELS, len(fft_freqs)))
    for i in range(N_MELS):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2:N_MELS + 2] - mel_f[:N_MELS]))[:, None]
    return weights.astype(np.float32)


@lru_cache(maxsize=1)
def _window() -> np.ndarray:
    n = np.arange(N_FFT)
    return (0.5 - 0.5 * np.cos(2 * np.pi * n / N_FFT)).astype(np.float32)  # periodic Hann


def mel_spectrogram(audio: np.ndarray, *, block: int = 2000) -> np.ndarray:
    """Mel power spectrogram, shape (1 + len(audio) // 160, 40), frame i centred on sample 160*i.

    Args:
        audio: 16 kHz mono float samples.
        block: Frames computed per step (bounds memory on long recordings).
    """
    x = np.asarray(audio, dtype=np.float32)
    n_frames = 1 + len(x) // HOP
    fb, win = mel_filterbank(), _window()
    out = np.empty((n_frames, N_MELS), dtype=np.float32)
    half = N_FFT // 2
    for b in range(0, n_frames, block):
        m = min(block, n_frames - b)
        # This block's samples, zero-padded at the recording's edges (padding the whole
        # recording would copy it: 460 MB for two hours).
        lo, hi = b * HOP - half, (b + m - 1) * HOP + half + (N_FFT - 2 * half)
        part = np.zeros(hi - lo, dtype=np.float32)
        part[max(0, -lo):len(part) - max(0, hi - len(x))] = x[max(0, lo):min(hi, len(x))]
        frames = np.lib.stride_tricks.as_strided(
            part, shape=(m, N_FFT), strides=(HOP * 4, 4), writeable=False)
        spec = np.fft.rfft(frames * win, axis=1)
        power = (spec.real ** 2 + spec.imag ** 2).astype(np.float32)
        out[b:b + m] = power @ fb.T
    return out


def _gain(samples: np.ndarray) -> float:
    """Gain that brings samples up to TARGET_DBFS (never down), as resemblyzer normalises."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if len(samples) else 0.0
    if rms <= 1e-8:
        return 1.0
    change = TARGET_DBFS - 20 * np.log10(rms)
    return float(10 ** (change / 20)) if change > 0 else 1.0


# --- the network (onnxruntime, lazy) -------------------------------------------------------

#: The encoder, converted once from resemblyzer's ``pretrained.pt`` by bench/tools/convert_ge2e.py
#: (licence and provenance in the same folder).
WEIGHTS = Path(__file__).with_name("weights") / "ge2e.onnx"
#: SHA-256 of :data:`WEIGHTS`, checked before every load.
WEIGHTS_SHA256 = "9682105e8302a6712c1579cce4840b7098dbd86d64d5fc0a6054107fe4792bcf"
#: Devices :func:`embed_windows` accepts.
DEVICES = ("cpu", "cuda")


def weights_path() -> Path:
    """Path of the encoder shipped in the package (``weights/ge2e.onnx``).

    Raises:
        DiarizationError: If the file is missing.
    """
    if not WEIGHTS.is_file():
        raise DiarizationError(f"speaker encoder weights not found: {WEIGHTS}")
    return WEIGHTS


def _threads() -> int:
    """Half the usable cores, at most 4: on this 2-core machine one thread.

    The LSTM runs 100 small steps per window, each a parallel region ending in a barrier.
    When another process (or CTranslate2's worker threads, still spinning after a
    transcription) holds a core, every barrier waits for a time slice: measured with torch,
    128 windows took 0.1 s with 2 threads on an idle machine but 2-5 s on a busy one, against
    a steady 0.2 s with 1 thread.
    """
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n // 2, 4))


def providers(device: str = "cpu") -> list[str]:
    """onnxruntime execution providers for ``device``, best first.

    ``"cuda"`` uses CUDAExecutionProvider where the installed onnxruntime has it (the
    ``onnxruntime-gpu`` build) and falls back to the CPU otherwise.

    Raises:
        DiarizationError: If ``device`` is not one of :data:`DEVICES`.
    """
    if device not in DEVICES:
        raise DiarizationError(f"unknown device {device!r} for the speaker encoder "
                               f"(one of: {', '.join(DEVICES)})")
    import onnxruntime as ort

    if device == "cuda" and "CUDAExecutionProvider" in ort.get_available_providers():
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


@lru_cache(maxsize=2)
def _encoder(device: str = "cpu"):
    import onnxruntime as ort

    chosen = providers(device)
    path = weights_path()
    data = path.read_bytes()
    # Hash the very bytes that are loaded, so that what runs is what was checked.
    digest = hashlib.sha256(data).hexdigest()
    if digest != WEIGHTS_SHA256:
        raise DiarizationError(f"speaker encoder weights {path} are damaged or replaced: "
                               f"sha256 {digest}, expected {WEIGHTS_SHA256}")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = _threads()
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # No busy-waiting between steps: the cores are shared with CTranslate2 (see _threads).
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(data, opts, providers=chosen)
    except Exception as e:
        raise DiarizationError(f"cannot load speaker encoder {path}: {e}") from None


def _run(session, mels: list[np.ndarray]) -> np.ndarray:
    """Embed a batch of mel windows (each (frames, 40)); returns (len(mels), 256) unit rows."""
    lengths = np.array([len(m) for m in mels], dtype=np.int32)
    batch = np.zeros((int(lengths.max()), len(mels), N_MELS), dtype=np.float32)  # time-major
    for i, m in enumerate(mels):
        batch[:len(m), i] = m
    raw = session.run(None, {"mel": batch, "lengths": lengths})[0]
    # After the ReLU a row can be all zeros: clamp the norm as resemblyzer's torch code does.
    return raw / np.maximum(np.linalg.norm(raw, axis=1, keepdims=True), 1e-8)


def window_frames(windows: Sequence[tuple[float, float]], n_frames: int) -> list[tuple[int, int]]:
    """Mel-frame spans [a, b) of time windows; those under :data:`MIN_WINDOW` are widened
    around their centre, and every span holds at least one frame of the recording."""
    spans: list[tuple[int, int]] = []
    for start, end in windows:
        if end - start < MIN_WINDOW:
            mid = (start + end) / 2
            start, end = mid - MIN_WINDOW / 2, mid + MIN_WINDOW / 2
        a = int(round(max(0.0, start) * FRAMES_PER_SECOND))
        b = int(round(end * FRAMES_PER_SECOND))
        b = min(max(b, a + 1), n_frames)
        a = max(0, min(a, b - 1))
        spans.append((a, b))
    return spans


def window_features(audio: np.ndarray, mel: np.ndarray, span: tuple[int, int],
                    normalize: str = "window") -> np.ndarray:
    """The encoder's input for one frame span: the mel frames, levelled as resemblyzer does."""
    a, b = span
    m = mel[a:b]
    if normalize == "window":
        m = m * _gain(audio[a * HOP:b * HOP]) ** 2  # power spectrum scales as gain²
    return m


# --- public API -----------------------------------------------------------------------------

def embed_windows(audio: np.ndarray, windows: Sequence[tuple[float, float]], *,
                  batch_size: int = 128, normalize: str = "window",
                  mel: np.ndarray | None = None,
                  progress: Callable[[float, float], None] | None = None,
                  device: str = "cpu") -> np.ndarray:
    """Embed time windows of a recording.

    Args:
        audio: 16 kHz mono float32 samples.
        windows: (start, end) pairs in seconds; windows shorter than :data:`MIN_WINDOW` are
            widened around their centre.
        batch_size: Windows per forward pass.
        normalize: ``"window"`` brings each window up to -30 dBFS (as resemblyzer does per
            utterance), ``"none"`` leaves levels alone.
        mel: The recording's :func:`mel_spectrogram`, when the caller already has it.
        progress: Called with (windows done, windows total).
        device: ``"cpu"``, or ``"cuda"`` to run on the GPU where onnxruntime can (see
            :func:`providers`; without CUDA it runs on the CPU).

    Returns:
        Array (len(windows), 256) of L2-normalised embeddings, float32.

    Raises:
        DiarizationError: If the encoder cannot be loaded, its weights fail their SHA-256
            check, or ``device`` is unknown.
    """
    audio = np.asarray(audio, dtype=np.float32)
    if len(windows) == 0:
        return np.zeros((0, EMBEDDING_SIZE), dtype=np.float32)
    if mel is None:
        mel = mel_spectrogram(audio)
    spans = window_frames(windows, len(mel))
    # Sorting by length keeps padding (wasted LSTM steps) small inside each batch.
    order = sorted(range(len(spans)), key=lambda i: spans[i][1] - spans[i][0])
    out = np.empty((len(spans), EMBEDDING_SIZE), dtype=np.float32)
    with _lock:
        session = _encoder(device)
        for k in range(0, len(order), batch_size):
            idx = order[k:k + batch_size]
            out[idx] = _run(session, [window_features(audio, mel, spans[i], normalize)
                                      for i in idx])
            if progress is not None:
                progress(float(min(k + batch_size, len(order))), float(len(order)))
    return out


def embed_utterance(audio: np.ndarray, *, window: float = 1.6, step: float = 0.8,
                    regions: Sequence[tuple[float, float]] | None = None,
                    device: str = "cpu") -> np.ndarray:
    """One embedding for a whole utterance: the normalised mean of its window embeddings.

    Args:
        audio: 16 kHz mono float32 samples of one speaker.
        window: Window length in seconds.
        step: Hop between windows in seconds.
        regions: Speech regions to use; the whole recording when None.
        device: As for :func:`embed_windows`.

    Returns:
        L2-normalised embedding, shape (256,).
    """
    if regions is None:
        regions = [(0.0, len(audio) / SAMPLE_RATE)]
    wins = sliding_windows(regions, window=window, step=step)
    if not wins:
        raise DiarizationError("no audio to embed")
    e = embed_windows(audio, wins, device=device).mean(axis=0)
    return (e / max(float(np.linalg.norm(e)), 1e-8)).astype(np.float32)


def sliding_windows(regions: Sequence[tuple[float, float]], *, window: float = 1.5,
                    step: float = 0.5) -> list[tuple[float, float]]:
    """Windows of ``window`` seconds every ``step`` seconds inside each region.

    A region shorter than a window gives one window covering the region; the last window of a
    region is aligned with its end so that no speech is left out.
    """
    out: list[tuple[float, float]] = []
    for start, end in regions:
        length = end - start
        if length <= window:
            out.append((start, end))
            continue
        n = int(np.ceil((length - window) / step - 1e-9)) + 1
        for i in range(n):
            s = min(start + i * step, end - window)
            out.append((s, s + window))
    return out


def similarity(a: Sequence[float] | np.ndarray, b: Sequence[float] | np.ndarray) -> float:
    """Cosine similarity of two embeddings (1 = same direction)."""
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    den = float(np.linalg.norm(x) * np.linalg.norm(y))
    return float(x @ y) / den if den > 0 else 0.0
