#!/usr/bin/env bash
# Runs a command with a real Secret Service, as a desktop session has: a private D-Bus session
# bus and an unlocked gnome-keyring whose keyrings live in a throwaway data directory (the
# user's own keyring is never touched). Everything stops when the command ends.
#   scripts/with-keyring.sh cargo test --workspace
set -euo pipefail
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "with-keyring: $tool is missing (apt-get install dbus gnome-keyring)" >&2; exit 2; }
done
data="$(mktemp -d "${TMPDIR:-/tmp}/alliance-keyring.XXXXXX")"
trap 'rm -rf "$data"' EXIT
export XDG_DATA_HOME="$data"
# Tests that can use the real keyring look for this.
export ALLIANCE_TEST_SECRET_SERVICE=1
# A keyring left locked would put up an (invisible) unlock prompt and wait forever.
# Not exec: the trap above removes the keyring's data when the command ends.
status=0
dbus-run-session -- bash -c '
  printf %s "alliance-test-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
  exec "$@"' with-keyring "$@" || status=$?
exit "$status"
