#!/usr/bin/env bash
# Inference speed: netc's emitted Swift and interpreter against PyTorch and ONNX Runtime, side by side.
# Makes .venv (torch, torchvision, safetensors, numpy, onnx, onnxruntime, torchsummary, torchinfo from PyPI)
# if needed, builds netc, runs bench/bench.py, and writes bench/results.md and bench/results.svg.
#   bench/run.sh [--runs N] [--batch8-runs N] [--nets alexnet,vgg16,googlenet,resnet18,resnet50]
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import torch, torchvision, safetensors, numpy, onnx, onnxruntime, torchsummary, torchinfo" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch torchvision safetensors numpy onnx onnxruntime torchsummary torchinfo
fi
swift build -c release --product netc
swift build -c release --product NetcKernels
.venv/bin/python bench/bench.py --netc .build/release/netc "$@"
