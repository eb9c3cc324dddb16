#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, build in release mode and run fitrnn's
# default config on the shipped demo recording.   Usage: bash scripts/demo.sh [extra fitrnn args]
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
cargo build --release --locked
./target/release/fitrnn --config configs/mouse_v1.yaml "$@"
