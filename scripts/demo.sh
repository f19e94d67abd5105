#!/usr/bin/env bash
# The Alliance ID demo: a local 4-validator consortium, a DID registered, resolved on another
# member's node, proven, and the proof verified offline against the genesis alone.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-toolchain.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "== building alliance-registry"
cargo build --quiet -p did-registry --bin alliance-registry
BIN="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug/alliance-registry"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/alliance-demo.XXXXXX")"
DEVNET_PID=""
cleanup() {
  if [ -n "$DEVNET_PID" ] && kill -0 "$DEVNET_PID" 2>/dev/null; then
    kill -TERM "$DEVNET_PID"; wait "$DEVNET_PID" || true
  fi
}
trap cleanup EXIT

echo "== starting a 4-validator devnet in $WORK/net"
"$BIN" devnet --validators 4 --dir "$WORK/net" 2>"$WORK/devnet.log" &
DEVNET_PID=$!
for _ in $(seq 1 600); do
  grep -q "devnet ready" "$WORK/devnet.log" 2>/dev/null && break
  kill -0 "$DEVNET_PID" 2>/dev/null || { cat "$WORK/devnet.log"; exit 1; }
  sleep 0.1
done
grep -q "devnet ready" "$WORK/devnet.log" || { echo "devnet did not start"; cat "$WORK/devnet.log"; exit 1; }
cat "$WORK/devnet.log"
api() { python3 -c "import json; print(json.load(open('$WORK/net/devnet.json'))['nodes'][$1]['api'])"; }
API0=$(api 0); API2=$(api 2)
REGISTRAR=$(python3 -c "import json; print(json.load(open('$WORK/net/devnet.json'))['registrarKey'])")

echo
echo "== an agency registers its DID (endorsed by member-0's registrar), through member-0's node"
DID=$("$BIN" did create --api "$API0" --registrar-key "$REGISTRAR" --key-out "$WORK/agency-keys.json" \
      --service issuer,OpenID4VCI,https://issuer.agency.example)
echo "$DID"

echo
echo "== anyone resolves it on another member's node ($API2)"
"$BIN" did resolve "$DID" --api "$API2"

echo
echo "== member-2's node proves the DID document (header + commit certificate + Merkle proof)"
"$BIN" did prove "$DID" --api "$API2" --out "$WORK/proof.json"

echo
echo "== offline: the proof is checked against the genesis alone (no network)"
"$BIN" proof verify "$WORK/proof.json" --genesis "$WORK/net/genesis.json"

echo
echo "== a tampered proof is refused"
python3 - "$WORK/proof.json" "$WORK/tampered.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["value"]["document"]["service"][0]["serviceEndpoint"] = "https://evil.example"
json.dump(p, open(sys.argv[2], "w"))
PY
if "$BIN" proof verify "$WORK/tampered.json" --genesis "$WORK/net/genesis.json"; then
  echo "tampered proof was accepted"; exit 1
fi

echo
echo "demo complete (files in $WORK); stopping the devnet"
