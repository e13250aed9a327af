#!/usr/bin/env bash
# Numerical parity with PyTorch, and of the ONNX export with netc: builds netc and the NetcKernels library
# the emitted Swift links (release), makes the Python environment the check needs (torch, torchvision,
# safetensors, numpy, onnx, onnxruntime, torchsummary and torchinfo from PyPI, in .venv) if it is missing,
# and runs parity.py.
#   Tests/parity/run.sh [SPEC ...]      (default: every spec with a PyTorch reference, and Tests/parity/ops)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import torch, torchvision, safetensors, numpy, onnx, onnxruntime, torchsummary, torchinfo" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch torchvision safetensors numpy onnx onnxruntime torchsummary torchinfo
fi
swift build -c release --product netc
# The library the emitted Swift is compiled against (parity.py's build_swift).
swift build -c release --product NetcKernels
.venv/bin/python Tests/parity/parity.py --netc .build/release/netc "$@"
