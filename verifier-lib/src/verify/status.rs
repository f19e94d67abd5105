//! The checks of a credential's status: a `BitstringStatusListEntry` against the stapled
//! status list credential (signed by the issuer, anchored in the registry, fresh, the bit not
//! set), and an SD-JWT VC's `status` against the stapled Status List Token (IETF Token Status
//! List; the same rules).

use std::sync::Arc;

use did_method::Did;
use serde_json::Value;
use sha2::Digest;

use super::cache::{MAX_CACHED_LISTS, MAX_CACHED_TOKEN_BYTES, MAX_CACHED_TOKENS};
use super::{Stapled, Verifier, parse_time, types_of};
use crate::dids::Relationship;
use crate::token_status;
use crate::verdict::{Check, CheckKind, Verdict};

impl Verifier {
    /// An SD-JWT VC's `status` (IETF Token Status List).
    pub(super) fn token_status(
        &self,
        claims: &serde_json::Map<String, Value>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let subject = "sd-jwt";
        match token_status::Reference::from_claims(claims) {
            Ok(Some(r)) => {
                let iss = claims.get("iss").and_then(Value::as_str);
                if let Err(reason) = self.token_status_entry(&r, iss, st, now_ms, v) {
                    v.push(Check::fail(CheckKind::Status, subject, reason));
                }
            }
            Ok(None) if self.policy.require_status => v.push(Check::fail(
                CheckKind::Status,
                subject,
                "the policy requires a status entry; the credential has none",
            )),
            Ok(None) => {}
            Err(e) => v.push(Check::fail(CheckKind::Status, subject, e)),
        }
    }

    fn token_status_entry(
        &self,
        r: &token_status::Reference,
        iss: Option<&str>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Result<(), String> {
        let uri = r.uri.as_str();
        let iss = iss.ok_or("the credential has no iss")?;
        let text = st
            .status_lists
            .get(uri)
            .ok_or_else(|| format!("the status list {uri} is not stapled"))?;
        let digest: [u8; 32] = sha2::Sha256::digest(text.as_bytes()).into();
        let cached = self
            .caches
            .tokens
            .lock()
            .ok()
            .and_then(|m| m.get(&digest).cloned());
        let (token, parsed_now) = match cached {
            Some(t) => (t, false),
            None => (
                Arc::new(
                    token_status::StatusListToken::parse(text)
                        .map_err(|e| format!("status list {uri}: {e}"))?,
                ),
                true,
            ),
        };
        if token.sub != uri {
            return Err(format!(
                "the stapled status list token is for {}, not {uri}",
                token.sub
            ));
        }
        if let Some(t) = &token.iss
            && t != iss
        {
            return Err(format!(
                "the status list {uri} was issued by {t}, not {iss}"
            ));
        }
        // Signed by an assertion key of the credential's issuer (cached per exact text and
        // key, like Bitstring lists).
        let kid = token
            .kid
            .as_deref()
            .ok_or_else(|| format!("the status list {uri} names no kid"))?;
        let (kid, resolved) = crate::sdjwt::assertion_key(kid, iss, &st.evidence)
            .map_err(|e| format!("status list {uri}: {e}"))?;
        if resolved.controller != iss {
            return Err(format!(
                "the status list {uri} is signed by a key of {}, not of {iss}",
                resolved.controller
            ));
        }
        if !crate::sdjwt::is_eddsa(&token.alg) {
            return Err(format!(
                "status list {uri}: alg {} is not accepted (EdDSA only)",
                token.alg
            ));
        }
        let cache_key = (digest, resolved.key.to_bytes());
        let known = self
            .caches
            .list_signatures
            .lock()
            .is_ok_and(|set| set.contains(&cache_key));
        if !known {
            let ok = did_method::Signature::from_slice(&token.signature)
                .ok()
                .is_some_and(|s| {
                    resolved
                        .key
                        .verify(token.signing_input.as_bytes(), &s)
                        .is_ok()
                });
            if !ok {
                return Err(format!("the status list {uri} signature does not verify"));
            }
            if let Ok(mut set) = self.caches.list_signatures.lock() {
                if set.len() >= MAX_CACHED_LISTS {
                    set.clear();
                }
                set.insert(cache_key);
            }
        }
        // Keep what the issuer signed, parsed, for the next presentation (bounded in count
        // and in size: at most 256 lists of at most 256 KiB inflated).
        if parsed_now
            && token.inflated_bytes() <= MAX_CACHED_TOKEN_BYTES
            && let Ok(mut m) = self.caches.tokens.lock()
        {
            if m.len() >= MAX_CACHED_TOKENS {
                m.clear();
            }
            m.insert(digest, token.clone());
        }
        v.push(Check::pass(
            CheckKind::Signature,
            uri,
            format!("status list token signed by {kid}"),
        ));
        if self.policy.require_status_anchor {
            let did = Did::parse(iss).map_err(|_| {
                format!("status list anchors exist only for did:alliance issuers; {iss} cannot anchor {uri}")
            })?;
            match st.evidence.status_anchor_digest(&did, uri, digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    uri,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => v.push(Check::fail(CheckKind::StatusAnchor, uri, e)),
            }
        }
        let issued = token.iat_s.saturating_mul(1000);
        let skew = self.policy.clock_skew_s.saturating_mul(1000);
        let max_age = self.policy.max_status_age_s.saturating_mul(1000);
        if let Some(exp) = token.exp_s
            && exp.saturating_mul(1000).saturating_add(skew) < now_ms
        {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list token expired {} s ago",
                    now_ms.saturating_sub(exp.saturating_mul(1000)) / 1000
                ),
            ));
        } else if issued > now_ms.saturating_add(skew) {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                "status list token is issued in the future",
            ));
        } else if issued.saturating_add(max_age) >= now_ms {
            v.push(Check::pass(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list issued {} s ago",
                    now_ms.saturating_sub(issued) / 1000
                ),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::StatusFreshness,
                uri,
                format!(
                    "status list is {} s old; the policy accepts at most {} s",
                    now_ms.saturating_sub(issued) / 1000,
                    self.policy.max_status_age_s
                ),
            ));
        }
        let idx = r.idx;
        match token.status(idx) {
            Some(token_status::VALID) => v.push(Check::pass(
                CheckKind::Status,
                "sd-jwt",
                format!("valid in {uri}"),
            )),
            Some(token_status::INVALID) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("revoked (index {idx} of {uri})"),
            )),
            Some(token_status::SUSPENDED) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("suspended (index {idx} of {uri})"),
            )),
            Some(other) => v.push(Check::fail(
                CheckKind::Status,
                "sd-jwt",
                format!("status 0x{other:02x} at index {idx} of {uri} is not valid"),
            )),
            None => {
                return Err(format!(
                    "index {idx} is beyond the end of {uri} ({} entries)",
                    token.len()
                ));
            }
        }
        Ok(())
    }

    pub(super) fn status(
        &self,
        vc: &Value,
        issuer: &str,
        subject: &str,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let entries: Vec<&Value> = match vc.get("credentialStatus") {
            None => vec![],
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
        };
        if entries.is_empty() {
            if self.policy.require_status {
                v.push(Check::fail(
                    CheckKind::Status,
                    subject,
                    "the policy requires a status entry; the credential has none",
                ));
            }
            return;
        }
        for e in entries {
            if let Err(reason) = self.status_entry(e, issuer, subject, st, now_ms, v) {
                v.push(Check::fail(CheckKind::Status, subject, reason));
            }
        }
    }

    fn status_entry(
        &self,
        entry: &Value,
        issuer: &str,
        subject: &str,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Result<(), String> {
        let field = |k: &str| entry.get(k).and_then(Value::as_str);
        if field("type") != Some("BitstringStatusListEntry") {
            return Err(format!(
                "status entry type {:?} is not supported",
                entry.get("type")
            ));
        }
        let purpose = field("statusPurpose").ok_or("status entry has no statusPurpose")?;
        let index: usize = field("statusListIndex")
            .and_then(|i| i.parse().ok())
            .ok_or("statusListIndex is not a decimal string")?;
        let url =
            field("statusListCredential").ok_or("status entry has no statusListCredential")?;
        let text = st
            .status_lists
            .get(url)
            .ok_or_else(|| format!("the status list {url} is not stapled"))?;
        let parsed = self.caches.parsed_list(url, text, self.limits)?;
        let list = &parsed.value;
        if list.get("id").and_then(Value::as_str) != Some(url) {
            return Err(format!("the stapled list's id is not {url}"));
        }
        if !types_of(list)
            .iter()
            .any(|t| t == "BitstringStatusListCredential")
        {
            return Err(format!("{url} is not a BitstringStatusListCredential"));
        }
        let list_issuer = list.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        if list_issuer != Some(issuer) {
            return Err(format!("the status list {url} was not issued by {issuer}"));
        }
        // The list is a credential of the same issuer: same signature and binding checks.
        let mut sub = Verdict::default();
        let signer = self.proof_checks(
            list,
            url,
            Relationship::AssertionMethod,
            &st.evidence,
            now_ms,
            &mut sub,
            Some(parsed.digest),
            None,
        );
        if let Some(f) = sub.failures().next() {
            return Err(format!("status list {url}: {}", f.reason));
        }
        if signer.as_deref() != Some(issuer) {
            return Err(format!("the status list {url} is not signed by {issuer}"));
        }
        // Anchored in the registry: the verifier knows this is the list the issuer published.
        if self.policy.require_status_anchor {
            let did = Did::parse(issuer)
                .map_err(|_| format!("status list anchors exist only for did:alliance issuers; {issuer} cannot anchor {url}"))?;
            match st.evidence.status_anchor_digest(&did, url, parsed.digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    url,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => {
                    v.push(Check::fail(CheckKind::StatusAnchor, url, e));
                }
            }
        }
        let listed = list
            .get("validFrom")
            .and_then(Value::as_str)
            .and_then(parse_time);
        let max_age = self.policy.max_status_age_s.saturating_mul(1000);
        match listed {
            Some(t) if t.saturating_add(max_age) >= now_ms => v.push(Check::pass(
                CheckKind::StatusFreshness,
                url,
                format!(
                    "status list issued {} s ago",
                    now_ms.saturating_sub(t) / 1000
                ),
            )),
            Some(t) => v.push(Check::fail(
                CheckKind::StatusFreshness,
                url,
                format!(
                    "status list is {} s old; the policy accepts at most {} s",
                    now_ms.saturating_sub(t) / 1000,
                    self.policy.max_status_age_s
                ),
            )),
            None => v.push(Check::fail(
                CheckKind::StatusFreshness,
                url,
                "status list has no validFrom date",
            )),
        }
        let cs = &list["credentialSubject"];
        if cs.get("statusPurpose").and_then(Value::as_str) != Some(purpose) {
            return Err(format!("the status list {url} is not a {purpose} list"));
        }
        let bits = parsed
            .bits
            .get_or_init(|| {
                let subject_json: ssi::status::bitstring_status_list::BitstringStatusList =
                    serde_json::from_value(cs.clone())
                        .map_err(|e| format!("status list {url}: {e}"))?;
                subject_json
                    .decode()
                    .map(Arc::new)
                    .map_err(|e| format!("status list {url} cannot be decoded: {e}"))
            })
            .clone()?;
        let one = ssi::status::bitstring_status_list::StatusSize::try_from(1u8)
            .map_err(|_| "status size".to_string())?;
        match bits.get(one, index) {
            Some(0) => v.push(Check::pass(
                CheckKind::Status,
                subject,
                format!("not set in the {purpose} list {url}"),
            )),
            Some(_) => v.push(Check::fail(
                CheckKind::Status,
                subject,
                match purpose {
                    "revocation" => format!("revoked (index {index} of {url})"),
                    "suspension" => format!("suspended (index {index} of {url})"),
                    p => format!("status {p} is set (index {index} of {url})"),
                },
            )),
            None => return Err(format!("index {index} is beyond the end of {url}")),
        }
        Ok(())
    }
}
