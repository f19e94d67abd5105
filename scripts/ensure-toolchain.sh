#!/usr/bin/env bash
# Installs what building Alliance ID needs on a fresh Debian machine: a C toolchain and
# Rust stable (1.90 or newer). Safe to run again: it installs only what is missing.
set -euo pipefail

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
command -v curl >/dev/null 2>&1 || need_apt+=(curl ca-certificates)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
# The test suite runs the issuer on a throwaway PostgreSQL server (scripts/postgres-test-server.sh).
if [ "${ALLIANCE_NEED_POSTGRES:-0}" = 1 ]; then
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
fi
# The wallet's tests run against a real Secret Service (scripts/with-keyring.sh).
if [ "${ALLIANCE_NEED_KEYRING:-0}" = 1 ]; then
  command -v dbus-run-session >/dev/null 2>&1 || need_apt+=(dbus)
  command -v gnome-keyring-daemon >/dev/null 2>&1 || need_apt+=(gnome-keyring)
fi
# The desktop wallet (Tauri 2) builds against WebKitGTK; its UI needs Node.js and npm.
if [ "${ALLIANCE_NEED_WALLET:-1}" = 1 ]; then
  pkg-config --exists webkit2gtk-4.1 2>/dev/null || need_apt+=(libwebkit2gtk-4.1-dev)
  command -v npm >/dev/null 2>&1 || need_apt+=(nodejs npm)
fi
if [ ${#need_apt[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  [ -x "$HOME/.cargo/bin/cargo" ] || curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --component clippy,rustfmt
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

# An older Rust already installed through rustup is brought up to stable (the workspace's
# rust-version is 1.90).
minor=$(rustc --version 2>/dev/null | sed -nE 's/^rustc 1\.([0-9]+).*/\1/p')
if [ "${minor:-0}" -lt 90 ] && command -v rustup >/dev/null 2>&1; then
  rustup update stable
fi
