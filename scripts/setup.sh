#!/usr/bin/env bash
# Installs what fitrnn needs to build on this machine: the HDF5 C library (and pkg-config).
# Sourced by scripts/demo.sh and scripts/test.sh; safe to run again (does nothing when present).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

have_hdf5() {
  pkg-config --exists hdf5 2>/dev/null && return 0
  [[ -n "${HDF5_DIR:-}" && -d "${HDF5_DIR}/include" ]] && return 0
  [[ -f /usr/include/hdf5/serial/hdf5.h || -f /usr/include/hdf5.h ]] && return 0
  return 1
}

if ! command -v cargo >/dev/null 2>&1; then
  echo "fitrnn needs the Rust toolchain (cargo). Install it from rustup, then run this again." >&2
  exit 1
fi

if ! have_hdf5 || ! command -v pkg-config >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    apt_install "the HDF5 library" libhdf5-dev pkg-config
  elif command -v brew >/dev/null 2>&1; then
    echo "fitrnn needs the HDF5 library: run 'brew install hdf5 pkg-config' and" >&2
    echo "'export HDF5_DIR=\$(brew --prefix hdf5)', then run this again." >&2
    exit 1
  else
    echo "fitrnn needs the HDF5 C library (1.10 or newer) and pkg-config. Install them with your" >&2
    echo "system's package manager (Fedora: dnf install hdf5-devel; conda: conda install hdf5) and" >&2
    echo "set HDF5_DIR to its prefix if it is not found automatically, then run this again." >&2
    exit 1
  fi
fi
