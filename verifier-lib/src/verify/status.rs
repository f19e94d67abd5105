//! The checks of a credential's status. `StatusError` says why a status entry cannot be
//! checked, for both mechanisms; here, a `BitstringStatusListEntry` (`credentialStatus`)
//! against the stapled status list credential: signed by the issuer, anchored in the
//! registry, fresh, and the credential's bit not set. An SD-JWT VC's Token Status List is
//! checked by the same rules in [`super::status_token`].

use std::sync::Arc;

use did_method::Did;
use serde_json::Value;

use super::{Stapled, Verifier, parse_time, types_of};
use crate::dids::{Relationship, ResolveError};
use crate::input::InputError;
use crate::token_status::TokenStatusError;
use crate::verdict::{Check, CheckKind, Verdict};

/// Why a credential's status entry cannot be checked: the reason of its failed `status`
/// check. `url` names the status list.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub(super) enum StatusError {
    #[error("the status list {url} is not stapled")]
    NotStapled { url: String },
    #[error("status anchors exist only for did:alliance issuers; {issuer} cannot anchor {url}")]
    NotAnchorable { issuer: String, url: String },
    #[error("index {index} is beyond the end of {url}")]
    BeyondList { index: usize, url: String },
    // A Token Status List (SD-JWT VC).
    #[error("the credential has no iss")]
    NoIss,
    #[error("status list {url}: {error}")]
    Token {
        url: String,
        error: TokenStatusError,
    },
    #[error("the stapled status list token is for {sub}, not {url}")]
    WrongSub { sub: String, url: String },
    #[error("the status list {url} was issued by {token_iss}, not {iss}")]
    WrongIss {
        url: String,
        token_iss: String,
        iss: String,
    },
    #[error("the status list {url} names no kid")]
    NoKid { url: String },
    #[error("status list {url}: {error}")]
    Key {
        url: String,
        /// Boxed: a resolution error is large, and the status checks' results are passed
        /// on every presentation.
        error: Box<ResolveError>,
    },
    #[error("the status list {url} is signed by a key of {controller}, not of {iss}")]
    NotIssuersKey {
        url: String,
        controller: String,
        iss: String,
    },
    #[error("status list {url}: alg {alg} is not accepted (EdDSA only)")]
    Alg { url: String, alg: String },
    #[error("the status list {url} signature does not verify")]
    BadSignature { url: String },
    #[error("index {index} is beyond the end of {url} ({len} entries)")]
    BeyondToken {
        index: usize,
        url: String,
        len: usize,
    },
    // A Bitstring status list entry (`credentialStatus`).
    /// `found`: the entry's `type`, if any.
    #[error("status entry type {found:?} is not supported")]
    EntryType { found: Option<Value> },
    #[error("status entry has no statusPurpose")]
    NoPurpose,
    #[error("statusListIndex is not a decimal string")]
    BadIndex,
    #[error("status entry has no statusListCredential")]
    NoListUrl,
    #[error("status list {url}: {error}")]
    Input { url: String, error: InputError },
    #[error("the stapled list's id is not {url}")]
    WrongId { url: String },
    #[error("{url} is not a BitstringStatusListCredential")]
    NotAList { url: String },
    #[error("the status list {url} was not issued by {issuer}")]
    NotIssuers { url: String, issuer: String },
    /// The list's own proof failed a check; `reason` is that check's.
    #[error("status list {url}: {reason}")]
    ListProof { url: String, reason: String },
    #[error("the status list {url} is not signed by {issuer}")]
    NotSignedByIssuer { url: String, issuer: String },
    #[error("the status list {url} is not a {purpose} list")]
    WrongPurpose { url: String, purpose: String },
    /// The list's `credentialSubject` is not a Bitstring status list.
    #[error("status list {url}: {reason}")]
    ListSubject { url: String, reason: String },
    #[error("status list {url} cannot be decoded: {reason}")]
    Undecodable { url: String, reason: String },
    #[error("status size")]
    StatusSize,
}

impl Verifier {
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
                v.push(Check::fail(CheckKind::Status, subject, reason.to_string()));
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
    ) -> Result<(), StatusError> {
        let field = |k: &str| entry.get(k).and_then(Value::as_str);
        if field("type") != Some("BitstringStatusListEntry") {
            return Err(StatusError::EntryType {
                found: entry.get("type").cloned(),
            });
        }
        let purpose = field("statusPurpose").ok_or(StatusError::NoPurpose)?;
        let index: usize = field("statusListIndex")
            .and_then(|i| i.parse().ok())
            .ok_or(StatusError::BadIndex)?;
        let url = field("statusListCredential").ok_or(StatusError::NoListUrl)?;
        let text = st
            .status_lists
            .get(url)
            .ok_or_else(|| StatusError::NotStapled {
                url: url.to_owned(),
            })?;
        let parsed = self.caches.parsed_list(url, text, self.limits)?;
        let list = &parsed.value;
        if list.get("id").and_then(Value::as_str) != Some(url) {
            return Err(StatusError::WrongId {
                url: url.to_owned(),
            });
        }
        if !types_of(list)
            .iter()
            .any(|t| t == "BitstringStatusListCredential")
        {
            return Err(StatusError::NotAList {
                url: url.to_owned(),
            });
        }
        let list_issuer = list.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        if list_issuer != Some(issuer) {
            return Err(StatusError::NotIssuers {
                url: url.to_owned(),
                issuer: issuer.to_owned(),
            });
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
            return Err(StatusError::ListProof {
                url: url.to_owned(),
                reason: f.reason.clone(),
            });
        }
        if signer.as_deref() != Some(issuer) {
            return Err(StatusError::NotSignedByIssuer {
                url: url.to_owned(),
                issuer: issuer.to_owned(),
            });
        }
        // Anchored in the registry: the verifier knows this is the list the issuer published.
        if self.policy.require_status_anchor {
            let did = Did::parse(issuer).map_err(|_| StatusError::NotAnchorable {
                issuer: issuer.to_owned(),
                url: url.to_owned(),
            })?;
            match st.evidence.status_anchor_digest(&did, url, parsed.digest) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::StatusAnchor,
                    url,
                    format!("list hash anchored at height {}", a.anchored_height),
                )),
                Err(e) => {
                    v.push(Check::fail(CheckKind::StatusAnchor, url, e.to_string()));
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
            return Err(StatusError::WrongPurpose {
                url: url.to_owned(),
                purpose: purpose.to_owned(),
            });
        }
        let bits = parsed
            .bits
            .get_or_init(|| {
                let subject_json: ssi::status::bitstring_status_list::BitstringStatusList =
                    serde_json::from_value(cs.clone()).map_err(|e| StatusError::ListSubject {
                        url: url.to_owned(),
                        reason: e.to_string(),
                    })?;
                subject_json
                    .decode()
                    .map(Arc::new)
                    .map_err(|e| StatusError::Undecodable {
                        url: url.to_owned(),
                        reason: e.to_string(),
                    })
            })
            .clone()?;
        let one = ssi::status::bitstring_status_list::StatusSize::try_from(1u8)
            .map_err(|_| StatusError::StatusSize)?;
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
            None => {
                return Err(StatusError::BeyondList {
                    index,
                    url: url.to_owned(),
                });
            }
        }
        Ok(())
    }
}
