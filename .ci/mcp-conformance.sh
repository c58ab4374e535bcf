#!/usr/bin/env bash
# `pax8 mcp` against the official Python MCP SDK (installed from PyPI into a virtual environment).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=target/mcp-venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check 'mcp==2.3.0'
cargo build --quiet --locked -p pax8-cli
"$venv/bin/python" pax8-mcp/tests/conformance.py target/debug/pax8
