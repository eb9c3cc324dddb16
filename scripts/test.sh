#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, then run the whole test suite in release
# mode (candle is ~36x slower in a debug build).   Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo test --release --locked
