#!/usr/bin/env bash
# Install the right PyTorch build into the given Python environment, before the project.
#   GPU machine (nvidia-smi works)  -> the default CUDA build from PyPI
#   macOS                           -> the default build (CPU + Apple MPS)
#   any other CPU-only machine      -> the CPU build 2.13.0+cpu: from pip's configured indexes and
#                                      find-links when they have it (a local wheel; PyPI itself has
#                                      no +cpu builds, so this fails fast elsewhere), else from
#                                      PyTorch's CPU index
# Never a multi-GB CUDA download on a machine without a GPU.
set -euo pipefail
PY=${1:-python3}
if "$PY" -c "import torch" 2>/dev/null; then
  echo "torch $("$PY" -c 'import torch; print(torch.__version__)') is already installed"
elif command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
  "$PY" -m pip install "torch>=2.6"
elif [ "$(uname -s)" = "Darwin" ]; then
  "$PY" -m pip install "torch>=2.6"
elif "$PY" -m pip install "torch==2.13.0+cpu" 2>/dev/null; then
  echo "installed torch 2.13.0+cpu from pip's configured sources"
else
  "$PY" -m pip install "torch==2.13.0+cpu" --index-url https://download.pytorch.org/whl/cpu
fi
