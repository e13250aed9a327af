#!/usr/bin/env bash
# netc lsp end to end: pytest-lsp (a real LSP client, with VS Code's client capabilities) starts
# 'netc lsp' and drives it as an editor does (Tests/lsp/test_lsp.py). pytest, pytest-lsp and
# pytest-asyncio come from PyPI into .venv if missing, so the test needs only Python.
#   Tests/lsp/run.sh [PYTEST ARGS...]
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONDONTWRITEBYTECODE=1
if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import pytest, pytest_lsp, pytest_asyncio" 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet pytest "pytest-lsp>=1.0" pytest-asyncio
fi
swift build --product netc
NETC="$(swift build --show-bin-path)/netc" exec .venv/bin/python -m pytest -q -p no:cacheprovider \
  --rootdir Tests/lsp -o asyncio_mode=strict -o asyncio_default_fixture_loop_scope=function Tests/lsp "$@"
