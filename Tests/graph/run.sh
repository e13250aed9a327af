#!/usr/bin/env bash
# Diagrams: builds netc, draws every spec with 'netc graph', renders each SVG to PNG and checks the pictures:
# rendered without error at the declared size, neither blank nor clipped, no text out of its box
# (Tests/graph/check.py says how). The renderer is resvg from PyPI with the DejaVu fonts matplotlib ships,
# installed into .venv if missing, so the check needs only Python; '--renderer rsvg-convert' uses Debian's
# librsvg2-bin instead.
#   Tests/graph/run.sh [--renderer resvg|rsvg-convert] [SPEC ...]
#   (default: every spec in specs/ and its family folders, specs/examples/ among them, and Tests/NetcTests/Inputs/graph/)
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import resvg_py, matplotlib" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet resvg-py matplotlib
fi
swift build --product netc
.venv/bin/python Tests/graph/check.py --netc "$(swift build --show-bin-path)/netc" "$@"
