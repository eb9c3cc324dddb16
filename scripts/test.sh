#!/usr/bin/env bash
# One command from a fresh clone: install what is missing, then run the whole test suite in release
# mode (candle is ~36x slower in a debug build).   Usage: bash scripts/test.sh
#
# The Slurm backend's tests run against a one-node cluster on this machine
# (scripts/slurm-test-cluster.sh), started here when it can be (root, Debian) and stopped at the
# end; elsewhere they say they did not run. FITRNN_REQUIRE_SLURM=1 (CI) makes the cluster a must.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
if bash scripts/slurm-test-cluster.sh status; then
    eval "$(bash scripts/slurm-test-cluster.sh env)"
    export FITRNN_TEST_SLURM=1
elif bash scripts/slurm-test-cluster.sh start >/dev/null; then
    eval "$(bash scripts/slurm-test-cluster.sh env)"
    export FITRNN_TEST_SLURM=1
    trap 'bash scripts/slurm-test-cluster.sh stop' EXIT
elif [ "${FITRNN_REQUIRE_SLURM:-0}" = 1 ]; then
    echo "test.sh: FITRNN_REQUIRE_SLURM=1 but the Slurm test cluster did not start" >&2
    exit 1
else
    echo "test.sh: no Slurm test cluster here; the Slurm backend's tests will not run" >&2
fi
cargo test --release --locked
