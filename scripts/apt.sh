#!/usr/bin/env bash
# apt_install WHAT PACKAGE...: install Debian packages with apt-get (through sudo when not root).
# Sourced by scripts/setup.sh and scripts/notebooks.sh. Returns 2 when apt-get is not available,
# so that the caller can print its own advice; exits when root rights are missing.
apt_install() {
  local what="$1"; shift
  command -v apt-get >/dev/null 2>&1 || return 2
  local sudo=""
  if [[ "$(id -u)" != "0" ]]; then
    if command -v sudo >/dev/null 2>&1; then sudo="sudo"; else
      echo "Installing $what needs root: run 'apt-get install $*' as root." >&2
      exit 1
    fi
  fi
  echo "Installing $what ($*) with apt-get..."
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
