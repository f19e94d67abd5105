#!/usr/bin/env bash
# The desktop wallet's benchmark (tests/benches/wallet.rs): release builds of the wallet, a
# devnet and an issuer; the wallet's real window under Xvfb with a real Secret Service, driven
# over WebDriver. Ends with `wallet-bench first_paint_ms=… pss_mb=… receive_ms=… present_ms=…`.
#   scripts/wallet-bench.sh [--launches N]
set -euo pipefail
cd "$(dirname "$0")/.."
ALLIANCE_NEED_KEYRING=1 . scripts/ensure-toolchain.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"
need=()
command -v xvfb-run >/dev/null 2>&1 || need+=(xvfb xauth)
command -v WebKitWebDriver >/dev/null 2>&1 || need+=(webkit2gtk-driver)
command -v secret-tool >/dev/null 2>&1 || need+=(libsecret-tools)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
tauri-driver --help >/dev/null 2>&1 || cargo install tauri-driver@2.1.0 --locked --quiet
scripts/build-wallet-ui.sh >/dev/null
echo "== release builds (wallet, registry, issuer)"
cargo build --release --quiet -p wallet-desktop -p did-registry -p issuer-service --bins
export ALLIANCE_WALLET_E2E=1
timeout -k 20 1800 xvfb-run -a -s '-screen 0 1280x900x24' \
  scripts/with-keyring.sh cargo bench --quiet -p e2e --bench wallet -- "$@"
