"""Convert resemblyzer's GE2E speaker encoder (``pretrained.pt``) to the ONNX file the package ships.

Run once, by a maintainer, when the weights change (they have not since resemblyzer 0.1.3):

    python -m venv /tmp/conv && /tmp/conv/bin/pip install torch onnx resemblyzer -e .
    /tmp/conv/bin/python bench/tools/convert_ge2e.py

It writes, and the product then needs none of torch, onnx or resemblyzer:

- ``archive/speakers/weights/ge2e.onnx``: the 3-layer LSTM (40->256), linear 256->256 and ReLU
  as standard ONNX operators (LSTM, Gemm, Relu; opset 17); the L2 norm is applied in numpy by
  :mod:`archive.speakers.voice`. Inputs ``mel`` (frames, windows, 40) float32 and ``lengths``
  (windows,) int32; output ``raw`` (windows, 256).
- ``archive/speakers/weights/LICENSE``: resemblyzer's Apache-2.0 licence, copied from its
  distribution (the weights are a derivative of its ``pretrained.pt``).
- ``tests/speakers/data/ge2e_reference.npz``: embeddings of a few windows of real recordings
  computed by torch (``nn.LSTM`` on packed sequences, as archive did before it dropped torch),
  which tests/speakers/test_voice.py compares with the ONNX encoder's.

It reads the pickle with ``torch.load(weights_only=True)`` (tensors and plain containers only),
checks the source file's SHA-256, prints the ONNX file's SHA-256 (``voice.WEIGHTS_SHA256``
must equal it) and the largest difference between the torch and onnxruntime embeddings.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archive.speakers import voice  # noqa: E402
from archive.speech import audio  # noqa: E402

#: resemblyzer 0.1.3 and 0.1.4 ship this exact ``pretrained.pt``.
SOURCE_SHA256 = "39373b86598fa3da9fcddee6142382efe09777e8d37dc9c0561f41f0070f134e"
OUT = ROOT / "archive" / "speakers" / "weights"
REFERENCE = ROOT / "tests" / "speakers" / "data" / "ge2e_reference.npz"
#: Same location rule as tests/conftest.py: $ARCHIVE_SHARED_AUDIO, else ../shared/audio.
SHARED = Path(os.environ.get("ARCHIVE_SHARED_AUDIO", ROOT.parent / "shared" / "audio"))
#: Windows (seconds) for the reference embeddings: real speech nobody here recorded, lengths
#: from a widened 0.05 s window to 2.9 s, so that one batch holds sequences of many lengths.
WINDOWS = {
    "jfk.flac": [(0.3, 1.3), (2.0, 3.5), (5.0, 6.0), (7.25, 7.3), (8.0, 10.9)],
    "librispeech/1688-142285-0000.flac": [(0.5, 1.5), (1.0, 2.6), (3.0, 3.4)],
    "real/coqui_stt_ru.wav": [(0.5, 2.0), (2.5, 3.5)],
}
HIDDEN = 256


def _pretrained(path: str | None) -> Path:
    if path:
        return Path(path)
    spec = importlib.util.find_spec("resemblyzer")  # found, not imported (webrtcvad)
    for loc in (spec.submodule_search_locations or []) if spec else []:
        if (Path(loc) / "pretrained.pt").is_file():
            return Path(loc) / "pretrained.pt"
    sys.exit("resemblyzer/pretrained.pt not found: pip install resemblyzer, or pass --source")


def _gates(w: np.ndarray) -> np.ndarray:
    """PyTorch stacks the LSTM gates i, f, g, o; ONNX wants i, o, f, c (c = PyTorch's g)."""
    i, f, g, o = np.split(w, 4, axis=0)
    return np.concatenate([i, o, f, g], axis=0)


def build_onnx(state: dict[str, np.ndarray]) -> bytes:
    """The encoder as an ONNX model, serialised."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    inits, nodes, prev = [], [], "mel"
    for layer in range(3):
        w = _gates(state[f"lstm.weight_ih_l{layer}"])[None]
        r = _gates(state[f"lstm.weight_hh_l{layer}"])[None]
        b = np.concatenate([_gates(state[f"lstm.bias_ih_l{layer}"]),
                            _gates(state[f"lstm.bias_hh_l{layer}"])])[None]
        for name, arr in (("W", w), ("R", r), ("B", b)):
            inits.append(numpy_helper.from_array(arr.astype(np.float32), f"{name}{layer}"))
        # Y: (frames, 1, windows, 256) feeds the next layer; Y_h: each window's last valid step.
        nodes.append(helper.make_node(
            "LSTM", [prev, f"W{layer}", f"R{layer}", f"B{layer}", "lengths"],
            [f"Y{layer}", f"Yh{layer}"], hidden_size=HIDDEN))
        if layer < 2:
            nodes.append(helper.make_node("Squeeze", [f"Y{layer}", "axis1"], [f"X{layer + 1}"]))
            prev = f"X{layer + 1}"
    inits += [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
              numpy_helper.from_array(np.array([0], np.int64), "axis0"),
              numpy_helper.from_array(state["linear.weight"].astype(np.float32), "LW"),
              numpy_helper.from_array(state["linear.bias"].astype(np.float32), "LB")]
    nodes += [helper.make_node("Squeeze", ["Yh2", "axis0"], ["hidden"]),
              helper.make_node("Gemm", ["hidden", "LW", "LB"], ["linear"], transB=1),
              helper.make_node("Relu", ["linear"], ["raw"])]
    graph = helper.make_graph(
        nodes, "ge2e_speaker_encoder",
        [helper.make_tensor_value_info("mel", TensorProto.FLOAT, ["frames", "windows", 40]),
         helper.make_tensor_value_info("lengths", TensorProto.INT32, ["windows"])],
        [helper.make_tensor_value_info("raw", TensorProto.FLOAT, ["windows", HIDDEN])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="archive tools/convert_ge2e.py")
    model.ir_version = 8  # readable by onnxruntime >= 1.14, faster-whisper's lower bound
    model.doc_string = ("GE2E speaker encoder from resemblyzer's pretrained.pt "
                        f"(sha256 {SOURCE_SHA256}), Apache-2.0, see LICENSE")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def torch_embeddings(state: dict[str, np.ndarray], mels: list[np.ndarray]) -> np.ndarray:
    """Embeddings by torch's nn.LSTM on packed sequences (archive's encoder until issue 10)."""
    import torch
    from torch import nn

    lstm, linear = nn.LSTM(voice.N_MELS, HIDDEN, 3, batch_first=True), nn.Linear(HIDDEN, HIDDEN)
    lstm.load_state_dict({k[5:]: torch.from_numpy(v) for k, v in state.items()
                          if k.startswith("lstm.")})
    linear.load_state_dict({k[7:]: torch.from_numpy(v) for k, v in state.items()
                            if k.startswith("linear.")})
    lengths = torch.tensor([len(m) for m in mels])
    batch = np.zeros((len(mels), int(lengths.max()), voice.N_MELS), dtype=np.float32)
    for i, m in enumerate(mels):
        batch[i, :len(m)] = m
    packed = nn.utils.rnn.pack_padded_sequence(torch.from_numpy(batch), lengths,
                                               batch_first=True, enforce_sorted=False)
    with torch.inference_mode():
        _, (hidden, _) = lstm(packed)
        raw = torch.relu(linear(hidden[-1]))
        return (raw / torch.clamp(torch.norm(raw, dim=1, keepdim=True), min=1e-8)).numpy()


def reference_windows() -> tuple[list[str], list[tuple[int, float, float]], list[np.ndarray]]:
    files = list(WINDOWS)
    rows, mels = [], []
    for k, name in enumerate(files):
        x = audio.decode(SHARED / name)
        mel = voice.mel_spectrogram(x)
        wins = WINDOWS[name]
        for (s, e), span in zip(wins, voice.window_frames(wins, len(mel))):
            rows.append((k, s, e))
            mels.append(voice.window_features(x, mel, span))
    return files, rows, mels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", help="pretrained.pt (default: the installed resemblyzer's)")
    args = ap.parse_args()
    import torch

    src = _pretrained(args.source)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    if digest != SOURCE_SHA256:
        sys.exit(f"{src}: sha256 {digest}, expected {SOURCE_SHA256}")
    raw = torch.load(src, map_location="cpu", weights_only=True)["model_state"]
    state = {k: v.numpy().astype(np.float32) for k, v in raw.items()
             if not k.startswith("similarity")}  # the GE2E loss's scale, unused at inference

    OUT.mkdir(parents=True, exist_ok=True)
    model = build_onnx(state)
    (OUT / "ge2e.onnx").write_bytes(model)
    dist = importlib.metadata.distribution("resemblyzer")
    licence = next(f for f in dist.files or [] if f.name == "LICENSE")
    (OUT / "LICENSE").write_text(Path(dist.locate_file(licence)).read_text())
    sha = hashlib.sha256(model).hexdigest()
    print(f"wrote {OUT / 'ge2e.onnx'} ({len(model)} bytes), sha256 {sha}")
    if sha != voice.WEIGHTS_SHA256:
        print(f"  set voice.WEIGHTS_SHA256 = {sha!r}")

    files, rows, mels = reference_windows()
    ref = torch_embeddings(state, mels)
    REFERENCE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(REFERENCE, files=np.array(files), rows=np.array(rows, dtype=np.float64),
             embeddings=ref.astype(np.float32), torch_version=np.array(torch.__version__))
    print(f"wrote {REFERENCE} ({len(rows)} windows of {len(files)} recordings)")
    if sha == voice.WEIGHTS_SHA256:
        got = voice._run(voice._encoder("cpu"), mels)
        print(f"max |onnxruntime - torch| = {np.abs(got - ref).max():.2e}")


if __name__ == "__main__":
    main()
