#!/usr/bin/env bash
# The Alliance ID demo: a local 4-validator consortium; a DID registered, resolved on another
# member's node, proven, and the proof verified offline against the genesis alone; then an
# agency's issuer registers its DID, is accredited, issues a credential over OpenID4VCI into a
# holder's wallet, the holder presents it, and a business verifies it offline: accepted; a car
# rental asks for it over OpenID4VP and the holder answers; then it is refused after the agency
# revokes it.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-toolchain.sh
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

echo "== building alliance-registry, alliance-issuer, alliance-wallet, alliance-verify"
cargo build --quiet -p did-registry -p issuer-service -p wallet-core -p verifier-cli --bins
TARGET="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')/debug"
BIN="$TARGET/alliance-registry"
ISSUER="$TARGET/alliance-issuer"
WALLET="$TARGET/alliance-wallet"
VERIFY="$TARGET/alliance-verify"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/alliance-demo.XXXXXX")"
DEVNET_PID=""
ISSUER_PID=""
RENTAL_PID=""
cleanup() {
  for pid in "$RENTAL_PID" "$ISSUER_PID"; do
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid"; wait "$pid" || true
    fi
  done
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
# \`did create\` returns once member-0 has committed the block; member-2 applies the same
# decided block a moment later: wait for it (at most 10 s).
for _ in $(seq 1 100); do
  "$BIN" did resolve "$DID" --api "$API2" >/dev/null 2>&1 && break
  sleep 0.1
done
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
echo "=================== credentials ==================="
export ALLIANCE_ISSUER_PASSPHRASE="demo passphrase, not for production"
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
echo "== the transport agency sets up its issuer: sealed keys, and its DID registered on the chain"
"$ISSUER" init --dir "$WORK/issuer" --issuer-url "http://127.0.0.1:$PORT" --registry "$API0" \
    --registrar-key "$REGISTRAR" --name "Demo Transport Agency" --json > "$WORK/issuer-init.json"
ISSUER_DID=$(python3 -c "import json; print(json.load(open('$WORK/issuer-init.json'))['did'])")
export ALLIANCE_ISSUER_API="http://127.0.0.1:$PORT"
export ALLIANCE_ISSUER_API_KEY=$(python3 -c "import json; print(json.load(open('$WORK/issuer-init.json'))['adminApiKey'])")
echo "issuer DID: $ISSUER_DID"

echo
echo "== the root authority accredits it for DriverLicense (on chain)"
"$BIN" issuer accredit "$ISSUER_DID" --api "$API0" --authority-key "$WORK/net/authority-0.key" --type DriverLicense

echo
echo "== the issuer starts (its status lists are signed and their hashes anchored on chain)"
"$ISSUER" serve --dir "$WORK/issuer" > "$WORK/issuer.out" 2> "$WORK/issuer.log" &
ISSUER_PID=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$WORK/issuer.out" 2>/dev/null && break
  kill -0 "$ISSUER_PID" 2>/dev/null || { cat "$WORK/issuer.log"; exit 1; }
  sleep 0.1
done
cat > "$WORK/driver-license.json" <<'JSON'
{"id": "DriverLicense", "format": "ldp_vc", "credentialType": "DriverLicense",
 "claims": ["name", "licenseClass"], "validityDays": 1825, "name": "Driver licence"}
JSON
"$ISSUER" define-type "$WORK/driver-license.json" > /dev/null

echo
echo "== at the desk, the agency creates an offer for the citizen (link + QR code + PIN)"
"$ISSUER" offer --type DriverLicense --claims '{"name": "Ada Lovelace", "licenseClass": "B"}' \
    --qr "$WORK/offer-qr.svg" --json > "$WORK/offer.json"
LINK=$(python3 -c "import json; print(json.load(open('$WORK/offer.json'))['offerByReferenceUri'])")
PIN=$(python3 -c "import json; print(json.load(open('$WORK/offer.json'))['txCode'])")
echo "offer: $LINK   PIN: $PIN   (QR code: $WORK/offer-qr.svg)"

echo
echo "== a holder receives the credential over OpenID4VCI (the command-line holder, alliance-wallet:"
echo "   plain key files, for desks and scripts; the citizen's app is the desktop wallet, below)"
"$WALLET" new-key --out "$WORK/holder.key"
"$WALLET" receive "$LINK" --tx-code "$PIN" --key "$WORK/holder.key" --out "$WORK/license.json"

echo
echo "== the citizen presents it to a shop (challenge c-123); the wallet staples registry proofs"
"$WALLET" present "$WORK/license.json" --key "$WORK/holder.key" --challenge c-123 --domain shop.example \
    --registry "$API2" --out "$WORK/bundle.json"

echo
echo "== offline, the shop verifies: signatures, issuer binding, accreditation, revocation, proofs"
"$VERIFY" "$WORK/bundle.json" --anchor "$WORK/net/genesis.json" --challenge c-123 --domain shop.example

echo
echo "== a car rental asks for the licence over OpenID4VP: its DID on the registry, its verifier service"
"$BIN" did create --api "$API0" --registrar-key "$REGISTRAR" --key-out "$WORK/rental-keys.json" \
    --json > "$WORK/rental-did.json"
RENTAL_DID=$(python3 -c "import json; print(json.load(open('$WORK/rental-did.json'))['did'])")
echo "== the root authority registers the rental as a relying party: it may ask for driving licences (on chain)"
"$BIN" relying-party accredit "$RENTAL_DID" --api "$API0" --authority-key "$WORK/net/authority-0.key" \
    --scope 'DriverLicense=*'
python3 -c 'import secrets; print(secrets.token_urlsafe(24))' > "$WORK/rental-api-key"
RENTAL_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
RENTAL="http://127.0.0.1:$RENTAL_PORT"
"$VERIFY" serve --port "$RENTAL_PORT" --anchor "$WORK/net/genesis.json" --oid4vp-did "$RENTAL_DID" --oid4vp-name "Example Car Rental" \
    --oid4vp-key "$WORK/rental-keys.json" --public-url "$RENTAL" --api-key-file "$WORK/rental-api-key" \
    > "$WORK/rental.out" 2> "$WORK/rental.log" &
RENTAL_PID=$!
for _ in $(seq 1 300); do
  grep -q "listening on" "$WORK/rental.out" 2>/dev/null && break
  kill -0 "$RENTAL_PID" 2>/dev/null || { cat "$WORK/rental.log"; exit 1; }
  sleep 0.1
done
# The rental's own software asks for a licence of class A or B (DCQL), and reads the verdict.
rental_api() { python3 - "$@" <<'PY'
import json, sys, urllib.request
method, url, key = sys.argv[1], sys.argv[2], open(sys.argv[3]).read().strip()
body = sys.argv[4].encode() if len(sys.argv) > 4 else None
req = urllib.request.Request(url, data=body, method=method,
                             headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
print(urllib.request.urlopen(req).read().decode())
PY
}
QUERY='{"purpose": "Car rental: a driving licence of class A or B", "dcql_query": {"credentials": [{"id": "licence",
  "format": "ldp_vc", "meta": {"type_values": [["https://w3id.org/alliance-id/credentials#DriverLicense"]]},
  "claims": [{"path": ["credentialSubject", "licenseClass"], "values": ["A", "B"]}]}]}}'
rental_api POST "$RENTAL/oid4vp/requests" "$WORK/rental-api-key" "$QUERY" > "$WORK/rental-request.json"
OID4VP_LINK=$(python3 -c "import json; print(json.load(open('$WORK/rental-request.json'))['link'])")
REQ_ID=$(python3 -c "import json; print(json.load(open('$WORK/rental-request.json'))['id'])")
echo "request link (also a QR code for another device): $OID4VP_LINK"
echo "== the holder answers: who asks is proven from the registry; only what the query selects is shared"
"$WALLET" present "$WORK/license.json" --key "$WORK/holder.key" --request "$OID4VP_LINK" \
    --anchor "$WORK/net/genesis.json" --registry "$API2"
echo "== the rental reads the verdict"
rental_api GET "$RENTAL/oid4vp/requests/$REQ_ID" "$WORK/rental-api-key" > "$WORK/rental-verdict.json"
python3 -m json.tool "$WORK/rental-verdict.json"
python3 -c "import json,sys; sys.exit(0 if json.load(open('$WORK/rental-verdict.json'))['outcome']['accepted'] else 1)" \
  || { echo "the rental did not accept the licence"; exit 1; }

echo
echo "== the agency revokes the licence; the next presentation is refused"
CRED_ID=$(python3 -c "import json; print(json.load(open('$WORK/license.json'))['credential']['id'])")
"$ISSUER" revoke "$CRED_ID" --reason "licence withdrawn" > /dev/null
"$WALLET" present "$WORK/license.json" --key "$WORK/holder.key" --challenge c-456 --domain shop.example \
    --registry "$API2" --out "$WORK/bundle-after.json"
if "$VERIFY" "$WORK/bundle-after.json" --anchor "$WORK/net/genesis.json" --challenge c-456 --domain shop.example; then
  echo "a revoked credential was accepted"; exit 1
fi

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${ALLIANCE_DEMO_CLI:-0}" != 1 ]; then
  echo
  echo "=================== the citizen's desktop wallet ==================="
  echo "== building Alliance Wallet (Tauri; its interface needs Node.js and npm)"
  scripts/build-wallet-ui.sh > /dev/null
  cargo build --quiet -p wallet-desktop
  "$ISSUER" offer --type DriverLicense --claims '{"name": "Grace Hopper", "licenseClass": "A"}' \
      --json > "$WORK/offer-2.json"
  LINK2=$(python3 -c "import json; print(json.load(open('$WORK/offer-2.json'))['offerByReferenceUri'])")
  PIN2=$(python3 -c "import json; print(json.load(open('$WORK/offer-2.json'))['txCode'])")
  echo "The wallet opens with the agency's offer (as when a citizen clicks the link):"
  echo "  1. choose your wallet PIN;"
  echo "  2. look at who issues (proven by the registry), then type the agency's PIN: $PIN2"
  echo "  3. open the licence, Share, with code d-789 and domain shop.example; Save as file;"
  echo "  4. close the wallet. The demo then verifies the saved file offline."
  mkdir -p "$WORK/Documents"
  ALLIANCE_WALLET_NETWORK="$WORK/net/devnet.json" ALLIANCE_WALLET_DIR="$WORK/wallet" \
    ALLIANCE_WALLET_DOCUMENTS="$WORK/Documents" "$TARGET/alliance-wallet-desktop" "$LINK2" \
    2> "$WORK/wallet.log" || echo "(the wallet ended with an error: $WORK/wallet.log)"
  SAVED=$(ls -t "$WORK"/Documents/alliance-presentation-*.json 2>/dev/null | head -1 || true)
  if [ -n "$SAVED" ]; then
    echo "== offline, the shop verifies the desktop wallet's presentation ($SAVED)"
    "$VERIFY" "$SAVED" --anchor "$WORK/net/genesis.json" --challenge d-789 --domain shop.example || true
  else
    echo "(no presentation was saved from the desktop wallet)"
  fi
fi

echo
echo "demo complete (files in $WORK); stopping the issuer and the devnet"
