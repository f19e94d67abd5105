#!/usr/bin/env bash
# The credential benchmark (docs/benchmarks.md), in its two halves: offline verification
# (verifier-lib's `credentials` bench: a, b, c, e, p) and OpenID4VCI issuance against the real
# issuer process (the e2e crate's `issuance` bench: d). Arguments go to both:
#   --seconds S, --only a|b|c|e|p|d[,…], --format dc+sd-jwt (for d)
# Ends with the combined line
#   credential-bench di_vp_per_s=… sdjwt_vp_per_s=… ssi_di_vc_per_s=… issue_flows_per_s=…
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f "$HOME/.cargo/env" ] && . "$HOME/.cargo/env"

log=$(mktemp "${TMPDIR:-/tmp}/credential-bench.XXXXXX")
trap 'rm -f "$log"' EXIT
cargo bench -p verifier-lib --bench credentials -- "$@" | tee "$log"
# The issuance bench starts target/release/alliance-issuer, which `cargo bench -p e2e` does
# not build.
cargo build --release --quiet -p issuer-service --bin alliance-issuer
cargo bench -p e2e --bench issuance -- "$@" | tee -a "$log"

verify=$(sed -n 's/^verifier-bench //p' "$log" | tail -1)
issue=$(sed -n 's/^issuance-bench //p' "$log" | tail -1)
if [ -z "$verify" ] || [ -z "$issue" ]; then
  echo "a half of the credential bench printed no summary line" >&2
  exit 1
fi
echo "credential-bench $verify $issue"
