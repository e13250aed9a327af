#!/usr/bin/env bash
# Inference speed: netc's emitted Swift and interpreter against PyTorch, ONNX Runtime and OpenVINO, side by
# side, and each network's roofline. Makes .venv (torch, torchvision, safetensors, numpy, onnx, onnxruntime,
# torchsummary, torchinfo from PyPI) if needed, adds OpenVINO to it if missing, builds netc, runs
# bench/bench.py, and writes bench/results.md and bench/results.svg.
#   bench/run.sh [--runs N] [--batch8-runs N] [--nets mobilenet_v2,resnet18,...]   (default: all 17 networks)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import torch, torchvision, safetensors, numpy, onnx, onnxruntime, torchsummary, torchinfo" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch torchvision safetensors numpy onnx onnxruntime torchsummary torchinfo
fi
if ! .venv/bin/python -c "import openvino" 2>/dev/null; then
  .venv/bin/pip install --quiet openvino
fi
swift build -c release --product netc
swift build -c release --product NetcKernels
.venv/bin/python bench/bench.py --netc .build/release/netc "$@"
