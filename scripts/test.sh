#!/usr/bin/env bash
# Runs the whole test suite: formatting, lints, and every test (unit, official vectors,
# and end-to-end tests that start real validator processes on loopback).
set -euo pipefail
cd "$(dirname "$0")/.."
ALLIANCE_NEED_POSTGRES=1 ALLIANCE_NEED_KEYRING=1 . scripts/ensure-toolchain.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "== the wallet's interface (scripts/build-wallet-ui.sh)"
scripts/build-wallet-ui.sh
echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy --all-targets -- -D warnings"
cargo clippy --workspace --all-targets --quiet -- -D warnings
. scripts/postgres-test-server.sh
# The end-to-end tests (tests/, crate e2e) start the workspace's binaries; `cargo test` builds
# a package's binaries only for that package's own integration tests.
echo "== cargo build --bins"
cargo build --workspace --bins --quiet
echo "== cargo test (with a real Secret Service for the wallet: scripts/with-keyring.sh)"
scripts/with-keyring.sh cargo test --workspace 2>&1 | tee "${TMPDIR:-/tmp}/alliance-test.log"
echo "== the desktop wallet end to end (scripts/wallet-e2e.sh)"
scripts/wallet-e2e.sh
# One summary line over every test binary.
awk '/^test result:/ { p += $4; f += $6; i += $8 } END { printf "tests: %d passed, %d failed, %d skipped\n", p, f, i }' "${TMPDIR:-/tmp}/alliance-test.log"
