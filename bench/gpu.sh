#!/usr/bin/env bash
# RTF of `archive add` on a CUDA GPU against plain faster-whisper on the same GPU.
#
# On a machine with an NVIDIA GPU (driver installed, network to PyPI), from the repository:
#     bench/gpu.sh                      # Whisper base, the embedded default model
#     MODEL=large-v3 bench/gpu.sh       # any faster-whisper name in the local HF cache, or a folder
# It sets up .venv-gpu (or uses $PYTHON if given: an interpreter where archive is installed),
# installs the project and the CUDA 12 libraries CTranslate2 loads (cuBLAS, cuDNN 9, from
# PyPI), checks that CTranslate2 sees the GPU, then runs bench/ingest.py --device cuda once:
# plain sequential and batched faster-whisper, `archive add --no-diarize` and `archive add`,
# each in a fresh process, with wall time, ratio to the sequential peer, RTF and WER.
# Budget: about 5 minutes (install ~2, runs ~1 with base). Nothing in the test suite uses it.
#
# Reference audio: $ARCHIVE_SHARED_AUDIO, else ./shared/audio, else ../shared/audio.
# Without a GPU it says so and runs the same comparison on the CPU (DEVICE=cpu), so that the
# script itself can be checked anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
MODEL=${MODEL:-}
REPEAT=${REPEAT:-1}
DEVICE=${DEVICE:-cuda}

if [ -z "${ARCHIVE_SHARED_AUDIO:-}" ]; then
  for d in shared/audio ../shared/audio; do
    if [ -d "$d/real" ]; then ARCHIVE_SHARED_AUDIO=$(cd "$d" && pwd); break; fi
  done
fi
if [ -z "${ARCHIVE_SHARED_AUDIO:-}" ] || [ ! -d "$ARCHIVE_SHARED_AUDIO/real" ]; then
  echo "gpu.sh: reference audio not found (set ARCHIVE_SHARED_AUDIO to the shared/audio folder)" >&2
  exit 1
fi
export ARCHIVE_SHARED_AUDIO

if [ "$DEVICE" = cuda ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  else
    echo "gpu.sh: no NVIDIA GPU here (nvidia-smi finds none): running the CPU path instead"
    DEVICE=cpu
  fi
fi

if [ -z "${PYTHON:-}" ]; then
  if [ ! -x .venv-gpu/bin/python ]; then
    python3 -m venv .venv-gpu
    .venv-gpu/bin/pip install -q --upgrade pip
    # torch first: the CPU build the README pins (the speaker encoder; the GPU is for Whisper).
    .venv-gpu/bin/pip install -q torch==2.13.0
    .venv-gpu/bin/pip install -q -e '.[bench]'
  fi
  PYTHON=.venv-gpu/bin/python
fi
if [ "$DEVICE" = cuda ]; then
  # CTranslate2 4.x wheels are built for CUDA 12 and cuDNN 9 and load them at run time.
  "$PYTHON" -m pip install -q 'nvidia-cublas-cu12' 'nvidia-cudnn-cu12>=9,<10'
  libs=$("$PYTHON" - <<'EOF'
import importlib.util, os
dirs = []
for mod in ("nvidia.cublas.lib", "nvidia.cudnn.lib"):
    spec = importlib.util.find_spec(mod)
    if spec and spec.submodule_search_locations:
        dirs.extend(spec.submodule_search_locations)
print(os.pathsep.join(dirs))
EOF
)
  export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  gpus=$("$PYTHON" -c 'import ctranslate2; print(ctranslate2.get_cuda_device_count())')
  if [ "$gpus" -lt 1 ]; then
    echo "gpu.sh: CTranslate2 sees no CUDA device (driver or CUDA libraries missing)" >&2
    exit 1
  fi
  echo "CTranslate2 sees $gpus CUDA device(s); compute types: $("$PYTHON" -c \
    'import ctranslate2; print(",".join(sorted(ctranslate2.get_supported_compute_types("cuda"))))')"
fi
echo "setup took $(( $(date +%s) - start )) s"

args=(--device "$DEVICE" --repeat "$REPEAT")
if [ -n "$MODEL" ]; then args+=(--model "$MODEL"); fi
timeout "${BENCH_TIMEOUT:-270}" "$PYTHON" bench/ingest.py "${args[@]}"
echo "gpu.sh: done in $(( $(date +%s) - start )) s (device $DEVICE)"
