//! The checks of a presentation and of each credential it holds: format, type, proof
//! (see [`super::proof`]), issuer and holder binding, validity dates, accreditation and
//! status (see [`super::status`]).

use did_method::Did;
use serde_json::Value;

use super::{Stapled, VC_V2, Verifier, parse_time, types_of};
use crate::dids::Relationship;
use crate::rdfc::Rdfc2022;
use crate::registry::RegistryEvidence;
use crate::verdict::{Check, CheckKind, Verdict};

impl Verifier {
    pub(super) fn presentation(&self, vp: &Value, st: &Stapled, now_ms: u64, v: &mut Verdict) {
        let subject = vp
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or("presentation")
            .to_owned();
        if !self.format_ok(vp, &subject, v) {
            return;
        }
        // One expansion of each embedded credential serves both the presentation's proof and
        // the credential's own (`None`: each is computed on its own, and any error reported
        // there).
        let hashes = self.rdfc.presentation_hashes(vp).ok();
        let signer = self.proof_checks(
            vp,
            &subject,
            Relationship::Authentication,
            &st.evidence,
            now_ms,
            v,
            None,
            hashes.as_ref().map(|h| h.presentation),
        );
        // Challenge and domain: the verifier's own, so an old presentation cannot be replayed.
        if let Ok(info) = Rdfc2022::proof_info(vp) {
            match &self.policy.challenge {
                Some(c) if info.challenge.as_deref() == Some(c) => v.push(Check::pass(
                    CheckKind::Challenge,
                    &subject,
                    "challenge is the expected one",
                )),
                Some(c) => v.push(Check::fail(
                    CheckKind::Challenge,
                    &subject,
                    format!(
                        "challenge is {}, expected {c}",
                        info.challenge.as_deref().unwrap_or("missing")
                    ),
                )),
                None => {}
            }
            match &self.policy.domain {
                Some(d) if info.domain.iter().any(|x| x == d) => v.push(Check::pass(
                    CheckKind::Challenge,
                    &subject,
                    "domain is the expected one",
                )),
                Some(d) => v.push(Check::fail(
                    CheckKind::Challenge,
                    &subject,
                    format!("domain is {:?}, expected {d}", info.domain),
                )),
                None => {}
            }
        }
        let holder = vp.get("holder").and_then(|h| match h {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) => o.get("id").and_then(Value::as_str),
            _ => None,
        });
        let holder = match (&signer, holder) {
            (Some(s), Some(h)) if s == h => {
                v.push(Check::pass(
                    CheckKind::HolderBinding,
                    &subject,
                    format!("signed by its holder {h}"),
                ));
                Some(h.to_owned())
            }
            (Some(s), Some(h)) => {
                v.push(Check::fail(
                    CheckKind::HolderBinding,
                    &subject,
                    format!("holder is {h} but the presentation is signed by {s}"),
                ));
                None
            }
            (Some(s), None) => Some(s.clone()),
            (None, _) => None,
        };
        let creds: Vec<&Value> = match vp.get("verifiableCredential") {
            None => vec![],
            Some(Value::Array(a)) => a.iter().collect(),
            Some(one) => vec![one],
        };
        if creds.is_empty() {
            v.push(Check::fail(
                CheckKind::Format,
                &subject,
                "the presentation holds no credential",
            ));
        }
        for (i, c) in creds.into_iter().enumerate() {
            let name = c
                .get("id")
                .and_then(Value::as_str)
                .map_or_else(|| format!("credential[{i}]"), str::to_owned);
            let hash = hashes
                .as_ref()
                .and_then(|h| h.credentials.get(i).copied().flatten());
            self.credential(c, &name, Some(holder.as_deref()), st, now_ms, v, hash);
        }
    }

    /// `holder`: `None` for a bare credential; `Some(signer)` inside a presentation (the
    /// signer is `None` when the presentation's own key could not be resolved). `hash`: the
    /// credential proof's hash data when already computed.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn credential(
        &self,
        vc: &Value,
        subject: &str,
        holder: Option<Option<&str>>,
        st: &Stapled,
        now_ms: u64,
        v: &mut Verdict,
        hash: Option<[u8; 64]>,
    ) {
        if !self.format_ok(vc, subject, v) {
            return;
        }
        let issuer = vc.get("issuer").and_then(|i| match i {
            Value::String(s) => Some(s.clone()),
            Value::Object(o) => o.get("id").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        });
        let Some(issuer) = issuer else {
            v.push(Check::fail(
                CheckKind::Format,
                subject,
                "the credential has no issuer",
            ));
            return;
        };
        let types: Vec<String> = types_of(vc)
            .into_iter()
            .filter(|t| t != "VerifiableCredential")
            .collect();
        if self.policy.accepted_types.is_empty()
            || types.iter().any(|t| self.policy.accepted_types.contains(t))
        {
            v.push(Check::pass(
                CheckKind::CredentialType,
                subject,
                format!("type {}", types.join(", ")),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::CredentialType,
                subject,
                format!(
                    "type {} is not one the policy accepts ({})",
                    types.join(", "),
                    self.policy.accepted_types.join(", ")
                ),
            ));
        }
        let signer = self.proof_checks(
            vc,
            subject,
            Relationship::AssertionMethod,
            &st.evidence,
            now_ms,
            v,
            None,
            hash,
        );
        match &signer {
            Some(s) if *s == issuer => v.push(Check::pass(
                CheckKind::IssuerBinding,
                subject,
                format!("signed with a key its issuer {issuer} lists for assertion"),
            )),
            Some(s) => v.push(Check::fail(
                CheckKind::IssuerBinding,
                subject,
                format!("issuer is {issuer} but the signing key belongs to {s}"),
            )),
            None => {}
        }
        self.validity(vc, subject, now_ms, v);
        if let Some(holder) = holder {
            self.holder_binding(vc, subject, holder, v);
        }
        if self.policy.require_accreditation {
            self.accreditation(&issuer, &types, subject, &st.evidence, now_ms, v);
        }
        self.status(vc, &issuer, subject, st, now_ms, v);
    }

    fn format_ok(&self, doc: &Value, subject: &str, v: &mut Verdict) -> bool {
        let first = match doc.get("@context") {
            Some(Value::Array(a)) => a.first().and_then(Value::as_str),
            Some(Value::String(s)) => Some(s.as_str()),
            _ => None,
        };
        if first != Some(VC_V2) {
            v.push(Check::fail(
                CheckKind::Format,
                subject,
                format!("the first @context must be {VC_V2} (VC Data Model 2.0)"),
            ));
            return false;
        }
        true
    }

    fn validity(&self, vc: &Value, subject: &str, now_ms: u64, v: &mut Verdict) {
        let skew = self.policy.clock_skew_s * 1000;
        let mut ok = true;
        for (field, not_before) in [("validFrom", true), ("validUntil", false)] {
            let Some(raw) = vc.get(field) else { continue };
            let Some(t) = raw.as_str().and_then(parse_time) else {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("{field} is not a date-time"),
                ));
                ok = false;
                continue;
            };
            let text = raw.as_str().unwrap_or_default();
            if not_before && t > now_ms.saturating_add(skew) {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("not yet valid: validFrom is {text}"),
                ));
                ok = false;
            }
            if !not_before && t.saturating_add(skew) < now_ms {
                v.push(Check::fail(
                    CheckKind::Validity,
                    subject,
                    format!("expired: validUntil was {text}"),
                ));
                ok = false;
            }
        }
        if ok {
            v.push(Check::pass(
                CheckKind::Validity,
                subject,
                "within its validity period",
            ));
        }
    }

    fn holder_binding(&self, vc: &Value, subject: &str, holder: Option<&str>, v: &mut Verdict) {
        if !self.policy.require_holder_binding {
            return;
        }
        let Some(holder) = holder else {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                "the presentation's signer is unknown, so the credential cannot be bound to it",
            ));
            return;
        };
        let subjects: Vec<&Value> = match vc.get("credentialSubject") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(o) => vec![o],
            None => vec![],
        };
        if subjects
            .iter()
            .any(|s| s.get("id").and_then(Value::as_str) == Some(holder))
        {
            v.push(Check::pass(
                CheckKind::HolderBinding,
                subject,
                format!("its subject {holder} signed the presentation"),
            ));
        } else {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                format!("the credential's subject is not the presentation's signer {holder}"),
            ));
        }
    }

    fn accreditation(
        &self,
        issuer: &str,
        types: &[String],
        subject: &str,
        evidence: &RegistryEvidence,
        now_ms: u64,
        v: &mut Verdict,
    ) {
        let Ok(did) = Did::parse(issuer) else {
            v.push(Check::fail(
                CheckKind::Accreditation,
                subject,
                format!("the policy requires accreditation, which only a did:alliance issuer can have; the issuer is {issuer}"),
            ));
            return;
        };
        if types.is_empty() {
            v.push(Check::fail(
                CheckKind::Accreditation,
                subject,
                "the credential names no type to be accredited for",
            ));
        }
        for t in types {
            match evidence.accreditation(&did, t, now_ms) {
                Ok(a) => v.push(Check::pass(
                    CheckKind::Accreditation,
                    subject,
                    format!("{issuer} is accredited for {t} by {}", a.authority),
                )),
                Err(e) => v.push(Check::fail(
                    CheckKind::Accreditation,
                    subject,
                    e.to_string(),
                )),
            }
        }
    }
}
