#!/usr/bin/env bash
# The desktop wallet end to end, as a person uses it (tests/tests/wallet_desktop.rs): its
# real window under Xvfb driven over WebDriver (tauri-driver + WebKitWebDriver), keys in a
# real Secret Service (scripts/with-keyring.sh), against a local devnet and an agency's
# issuer, with alliance-verify as the business. Installs what it needs, builds, starts and
# stops every process, and ends with "wallet-e2e: N passed, N failed" (exit 1 on a failure).
#   scripts/wallet-e2e.sh                      # the run
#   scripts/wallet-e2e.sh --screenshots DIR    # and save every screen (docs/wallet/)
set -euo pipefail
cd "$(dirname "$0")/.."
ALLIANCE_NEED_KEYRING=1 . scripts/ensure-toolchain.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

if [ "${1:-}" = "--screenshots" ]; then
  mkdir -p "$2"
  ALLIANCE_WALLET_SCREENSHOTS="$(cd "$2" && pwd)"
  export ALLIANCE_WALLET_SCREENSHOTS
  # WebKitWebDriver's screenshot waits for a repaint, which a still page drawn without GPU
  # compositing (the wallet's default, src/webview.rs) never asks for: the pictures are taken
  # with WebKit's default drawing (they look the same). The plain run keeps the default.
  export ALLIANCE_WALLET_GPU=1
fi

# The display, the WebDriver of WebKitGTK, the keyring's command-line tool, a CJK font.
need=()
command -v xvfb-run >/dev/null 2>&1 || need+=(xvfb xauth)
command -v WebKitWebDriver >/dev/null 2>&1 || need+=(webkit2gtk-driver)
command -v secret-tool >/dev/null 2>&1 || need+=(libsecret-tools)
[ -e /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || need+=(fonts-wqy-microhei)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
# tauri-driver, pinned to Tauri 2's (the registry's newest is a 3.0 alpha).
if ! tauri-driver --help >/dev/null 2>&1; then
  echo "== cargo install tauri-driver@2.1.0"
  cargo install tauri-driver@2.1.0 --locked --quiet
fi

echo "== building the wallet and the services"
scripts/build-wallet-ui.sh >/dev/null
cargo build --workspace --bins --quiet

echo "== the wallet end to end (Xvfb, D-Bus, gnome-keyring, tauri-driver)"
export ALLIANCE_WALLET_E2E=1
set +e
timeout -k 20 1200 xvfb-run -a -s '-screen 0 1280x900x24' \
  scripts/with-keyring.sh cargo test --workspace --quiet --test wallet_desktop 2>&1 \
  | tee "${TMPDIR:-/tmp}/alliance-wallet-e2e.log"
status=${PIPESTATUS[0]}
set -e
if ! grep -q "^wallet-e2e: [0-9]* passed" "${TMPDIR:-/tmp}/alliance-wallet-e2e.log"; then
  echo "wallet-e2e: 0 passed, 1 failed (the run did not finish: exit $status)"
  exit 1
fi
exit "$status"
