//! The check of an SD-JWT VC's `status` (IETF Token Status List): the stapled Status List
//! Token is for the credential's `uri`, signed (EdDSA) by an assertion key of the
//! credential's issuer, anchored in the registry and fresh, and the credential's status in it
//! is valid.

use std::sync::Arc;

use did_method::Did;
use serde_json::Value;
use sha2::Digest;

use super::cache::{MAX_CACHED_LISTS, MAX_CACHED_TOKEN_BYTES, MAX_CACHED_TOKENS};
use super::status::StatusError;
use super::{Stapled, Verifier};
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
                    v.push(Check::fail(CheckKind::Status, subject, reason.to_string()));
                }
            }
            Ok(None) if self.policy.require_status => v.push(Check::fail(
                CheckKind::Status,
                subject,
                "the policy requires a status entry; the credential has none",
            )),
            Ok(None) => {}
            Err(e) => v.push(Check::fail(CheckKind::Status, subject, e.to_string())),
        }
    }

    fn token_status_entry(
        &self,
        r: &token_status::Reference,
        iss: Option<&str>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
    ) -> Result<(), StatusError> {
        let uri = r.uri.as_str();
        let iss = iss.ok_or(StatusError::NoIss)?;
        let text = st
            .status_lists
            .get(uri)
            .ok_or_else(|| StatusError::NotStapled {
                url: uri.to_owned(),
            })?;
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
                Arc::new(token_status::StatusListToken::parse(text).map_err(|error| {
                    StatusError::Token {
                        url: uri.to_owned(),
                        error,
                    }
                })?),
                true,
            ),
        };
        if token.sub != uri {
            return Err(StatusError::WrongSub {
                sub: token.sub.clone(),
                url: uri.to_owned(),
            });
        }
        if let Some(t) = &token.iss
            && t != iss
        {
            return Err(StatusError::WrongIss {
                url: uri.to_owned(),
                token_iss: t.clone(),
                iss: iss.to_owned(),
            });
        }
        // Signed by an assertion key of the credential's issuer (cached per exact text and
        // key, like Bitstring lists).
        let kid = token.kid.as_deref().ok_or_else(|| StatusError::NoKid {
            url: uri.to_owned(),
        })?;
        let (kid, resolved) =
            crate::sdjwt::assertion_key(kid, iss, &st.evidence).map_err(|error| {
                StatusError::Key {
                    url: uri.to_owned(),
                    error: Box::new(error),
                }
            })?;
        if resolved.controller != iss {
            return Err(StatusError::NotIssuersKey {
                url: uri.to_owned(),
                controller: resolved.controller,
                iss: iss.to_owned(),
            });
        }
        if !crate::sdjwt::is_eddsa(&token.alg) {
            return Err(StatusError::Alg {
                url: uri.to_owned(),
                alg: token.alg.clone(),
            });
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
                return Err(StatusError::BadSignature {
                    url: uri.to_owned(),
                });
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
            let did = Did::parse(iss).map_err(|_| StatusError::NotAnchorable {
                issuer: iss.to_owned(),
                url: uri.to_owned(),
            })?;
            match st.evidence.status_anchor_digest(&did, uri, digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    uri,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => v.push(Check::fail(CheckKind::StatusAnchor, uri, e.to_string())),
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
                return Err(StatusError::BeyondToken {
                    index: idx,
                    url: uri.to_owned(),
                    len: token.len(),
                });
            }
        }
        Ok(())
    }
}
