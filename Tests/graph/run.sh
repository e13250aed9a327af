#!/usr/bin/env bash
# Diagrams: builds netc, draws every spec with 'netc graph', renders each SVG to PNG with rsvg-convert
# (Debian's librsvg2-bin) and checks the pictures: rendered without error at the declared size, neither
# blank nor clipped, no text out of its box (Tests/graph/check.py says how).
#   Tests/graph/run.sh [SPEC ...]      (default: specs/, specs/examples/ and Tests/NetcTests/Inputs/graph/)
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v rsvg-convert >/dev/null; then
  echo "error: rsvg-convert is missing: install it with 'apt-get install librsvg2-bin'" >&2
  exit 1
fi
swift build --product netc
python3 Tests/graph/check.py --netc "$(swift build --show-bin-path)/netc" "$@"
