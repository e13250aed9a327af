#!/usr/bin/env bash
# From training to netc on real data: builds netc and the NetcKernels library the emitted Swift links
# (release), makes the Python environment the check needs (torch, safetensors, numpy and scikit-learn, whose
# bundled digits are the data, from PyPI, in .venv) if it is missing, and runs check.py: digits.net trained
# in one process and with DistributedDataParallel, each result run through netc and the emitted Swift.
#   Tests/train/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import torch, safetensors, numpy, sklearn" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet torch safetensors numpy scikit-learn
fi
swift build -c release --product netc
swift build -c release --product NetcKernels
.venv/bin/python Tests/train/check.py --netc .build/release/netc
