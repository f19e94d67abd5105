#!/usr/bin/env bash
# Builds the desktop wallet's interface (TypeScript and Preact, wallet-app/ui) into
# wallet-app/ui/dist, which the Tauri shell embeds: packages from the npm registry, pinned by
# package-lock.json; type check, then bundle. Nothing is fetched when the app runs.
set -euo pipefail
cd "$(dirname "$0")/../wallet-app/ui"
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nodejs npm
fi
# Reinstall only when the lock file changed since the last install.
if [ ! -f node_modules/.package-lock.json ] || ! cmp -s package-lock.json node_modules/.alliance-lock; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.alliance-lock
fi
npx --no-install tsc -p .
node build.mjs
npm test --silent
echo "wallet UI built in wallet-app/ui/dist"
