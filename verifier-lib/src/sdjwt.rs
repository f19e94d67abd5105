//! IETF SD-JWT VC (`dc+sd-jwt`) verification, on ssi's SD-JWT parsing and disclosure
//! handling, with the checks ssi leaves to us: the header `typ`, the issuer key bound to
//! `iss` (its DID document lists the `kid` for assertion), `vct` against the policy, `cnf`
//! present and the key-binding JWT signed by exactly that key, with the expected `aud` and
//! `nonce`, a matching `sd_hash` and a recent `iat`.

use did_method::Did;
use serde_json::Value;
use ssi::JWK;
use ssi::claims::sd_jwt::{SdAlg, SdJwt};

pub use crate::sd_compact::CompactError;
use crate::sd_compact::{Compact, Jwt};

use crate::dids::{self, Relationship, ResolveError};
use crate::policy::Policy;
use crate::registry::RegistryEvidence;
use crate::verdict::{Check, CheckKind, Verdict};

/// Header `typ` of an IETF SD-JWT VC.
pub const SD_JWT_VC_TYP: &str = "dc+sd-jwt";
/// Header `typ` of a key-binding JWT.
pub const KB_JWT_TYP: &str = "kb+jwt";

/// Where the issuer's key comes from.
pub enum IssuerKey<'a> {
    /// `iss` is a DID; the header's `kid` names one of its assertion methods.
    Did(&'a RegistryEvidence),
    /// A key given out of band (plain SD-JWTs such as the specification's test vectors).
    Jwk(&'a JWK),
}

/// The disclosed claims of an accepted SD-JWT (`_sd`, `_sd_alg` removed).
pub type Disclosed = serde_json::Map<String, Value>;

/// Why an SD-JWT could not be issued or presented.
#[derive(Debug, thiserror::Error)]
pub enum SdJwtError {
    /// A claim to make disclosable is not named by a JSON pointer.
    #[error("{0} is not a JSON pointer")]
    NotAPointer(String),
    /// A claim could not be concealed (not found, the root, not in an object).
    #[error(transparent)]
    Conceal(#[from] ssi::claims::sd_jwt::ConcealError),
    #[error("empty SD-JWT")]
    Empty,
    #[error("disclosure: {0}")]
    Disclosure(ssi::claims::sd_jwt::DecodeError),
    #[error("SD-JWT: {0}")]
    Malformed(ssi::claims::sd_jwt::InvalidSdJwt),
    #[error(transparent)]
    Json(#[from] serde_json::Error),
}

/// The claims an SD-JWT discloses: its disclosures matched to the digests of the issuer's
/// payload (each exactly once, as the SD-JWT specification requires), `_sd` and `_sd_alg`
/// removed. No signature is checked: this is what a holder shows of a credential it holds,
/// never a verification.
pub fn disclosed_claims(text: &str) -> Result<Disclosed, CompactError> {
    Compact::parse(text.trim()).map(|c| c.claims)
}

/// Checks an SD-JWT presentation (compact, with or without a key-binding JWT). `vc`: require
/// the SD-JWT VC profile (`typ`, `vct`). Returns the disclosed claims when the signature
/// and disclosures are valid (the verdict says whether everything else is).
pub fn verify(
    text: &str,
    issuer_key: IssuerKey<'_>,
    policy: &Policy,
    vc: bool,
    now_ms: u64,
    v: &mut Verdict,
) -> Option<Disclosed> {
    let subject = "sd-jwt";
    // Split, decoded, and every disclosure matched to exactly one digest.
    let Compact {
        jwt,
        claims,
        sd_alg,
        presented,
        kb,
    } = match Compact::parse(text.trim()) {
        Ok(c) => c,
        Err(e) => {
            v.push(Check::fail(CheckKind::Format, subject, e.to_string()));
            return None;
        }
    };
    let header = &jwt.header;
    if vc {
        match header.typ.as_deref() {
            Some(SD_JWT_VC_TYP) => v.push(Check::pass(CheckKind::Format, subject, "typ dc+sd-jwt")),
            other => v.push(Check::fail(
                CheckKind::Format,
                subject,
                format!("header typ is {other:?}, an SD-JWT VC has {SD_JWT_VC_TYP}"),
            )),
        }
    }
    let iss = claims.get("iss").and_then(Value::as_str);
    // Issuer signature.
    let signing_bytes = jwt.signing_input.as_bytes();
    let signature = jwt.signature.as_slice();
    match issuer_key {
        IssuerKey::Jwk(jwk) => {
            let verified =
                serde_json::from_value::<ssi::jwk::Algorithm>(Value::String(header.alg.clone()))
                    .map_err(|_| format!("alg {} is not a JOSE algorithm", header.alg))
                    .and_then(|algorithm| {
                        ssi::claims::jws::verify_bytes(algorithm, signing_bytes, jwk, signature)
                            .map_err(|e| e.to_string())
                    });
            match verified {
                Ok(()) => v.push(Check::pass(
                    CheckKind::Signature,
                    subject,
                    "issuer signature verifies",
                )),
                Err(e) => v.push(Check::fail(
                    CheckKind::Signature,
                    subject,
                    format!("issuer signature: {e}"),
                )),
            }
        }
        IssuerKey::Did(evidence) => issuer_by_did(
            header.kid.as_deref(),
            iss,
            &header.alg,
            signing_bytes,
            signature,
            evidence,
            subject,
            v,
        ),
    }
    validity(&claims, policy, now_ms, subject, v);
    if vc {
        match claims.get("vct").and_then(Value::as_str) {
            Some(t)
                if policy.accepted_types.is_empty()
                    || policy.accepted_types.iter().any(|a| a == t) =>
            {
                v.push(Check::pass(
                    CheckKind::CredentialType,
                    subject,
                    format!("vct {t}"),
                ))
            }
            Some(t) => v.push(Check::fail(
                CheckKind::CredentialType,
                subject,
                format!(
                    "vct {t} is not one the policy accepts ({})",
                    policy.accepted_types.join(", ")
                ),
            )),
            None => v.push(Check::fail(
                CheckKind::Format,
                subject,
                "an SD-JWT VC has a vct claim",
            )),
        }
        if policy.require_accreditation {
            accreditation(
                iss,
                claims.get("vct").and_then(Value::as_str),
                &issuer_key,
                now_ms,
                subject,
                v,
            );
        }
    }
    key_binding(kb, presented, &claims, sd_alg, policy, now_ms, subject, v);
    Some(claims)
}

#[allow(clippy::too_many_arguments)]
fn issuer_by_did(
    kid: Option<&str>,
    iss: Option<&str>,
    algorithm: &str,
    signing_bytes: &[u8],
    signature: &[u8],
    evidence: &RegistryEvidence,
    subject: &str,
    v: &mut Verdict,
) {
    let (Some(kid), Some(iss)) = (kid, iss) else {
        v.push(Check::fail(
            CheckKind::IssuerBinding,
            subject,
            "the issuer JWT needs iss (a DID) and kid (one of its keys)",
        ));
        return;
    };
    let (kid, resolved) = match assertion_key(kid, iss, evidence) {
        Ok(r) => r,
        Err(e) => {
            v.push(Check::fail(
                CheckKind::IssuerBinding,
                subject,
                e.to_string(),
            ));
            return;
        }
    };
    if resolved.controller == iss {
        v.push(Check::pass(
            CheckKind::IssuerBinding,
            subject,
            format!("kid {kid} is an assertion key of {iss}"),
        ));
    } else {
        v.push(Check::fail(
            CheckKind::IssuerBinding,
            subject,
            format!(
                "iss is {iss} but kid {kid} belongs to {}",
                resolved.controller
            ),
        ));
    }
    if !is_eddsa(algorithm) {
        v.push(Check::fail(
            CheckKind::Signature,
            subject,
            format!("alg {algorithm} is not accepted (EdDSA only)"),
        ));
        return;
    }
    let ok = did_method::Signature::from_slice(signature)
        .ok()
        .is_some_and(|s| resolved.key.verify(signing_bytes, &s).is_ok());
    if ok {
        v.push(Check::pass(
            CheckKind::Signature,
            subject,
            "issuer signature verifies",
        ));
    } else {
        v.push(Check::fail(
            CheckKind::Signature,
            subject,
            "issuer signature does not verify",
        ));
    }
}

/// The key a JWT header's `kid` names (a DID URL, or `#fragment` relative to `iss`), listed
/// for assertion by the DID document it belongs to, with the `kid` made absolute. Whether
/// that document is `iss`'s is the caller's check (`controller`).
pub(crate) fn assertion_key(
    kid: &str,
    iss: &str,
    evidence: &RegistryEvidence,
) -> Result<(String, dids::ResolvedKey), ResolveError> {
    let kid = if kid.starts_with('#') {
        format!("{iss}{kid}")
    } else {
        kid.to_owned()
    };
    let resolved = dids::resolve(&kid, Relationship::AssertionMethod, evidence)?;
    Ok((kid, resolved))
}

/// The only JWS algorithm accepted from issuers: EdDSA over Ed25519.
pub(crate) fn is_eddsa(alg: &str) -> bool {
    matches!(alg, "EdDSA" | "Ed25519")
}

fn accreditation(
    iss: Option<&str>,
    vct: Option<&str>,
    issuer_key: &IssuerKey<'_>,
    now_ms: u64,
    subject: &str,
    v: &mut Verdict,
) {
    let (Some(iss), Some(vct), IssuerKey::Did(evidence)) = (iss, vct, issuer_key) else {
        v.push(Check::fail(
            CheckKind::Accreditation,
            subject,
            "the policy requires accreditation, which needs a did:alliance issuer and a vct",
        ));
        return;
    };
    let Ok(did) = Did::parse(iss) else {
        v.push(Check::fail(
            CheckKind::Accreditation,
            subject,
            format!("the policy requires accreditation, which only a did:alliance issuer can have; the issuer is {iss}"),
        ));
        return;
    };
    match evidence.accreditation(&did, vct, now_ms) {
        Ok(a) => v.push(Check::pass(
            CheckKind::Accreditation,
            subject,
            format!("{iss} is accredited for {vct} by {}", a.authority),
        )),
        Err(e) => v.push(Check::fail(
            CheckKind::Accreditation,
            subject,
            e.to_string(),
        )),
    }
}

fn seconds(claims: &serde_json::Map<String, Value>, k: &str) -> Option<Result<u64, ()>> {
    claims.get(k).map(|x| {
        x.as_f64()
            .filter(|f| *f >= 0.0)
            .map(|f| (f * 1000.0) as u64)
            .ok_or(())
    })
}

fn validity(
    claims: &serde_json::Map<String, Value>,
    policy: &Policy,
    now_ms: u64,
    subject: &str,
    v: &mut Verdict,
) {
    let skew = policy.clock_skew_s.saturating_mul(1000);
    let mut ok = true;
    let mut fail = |m: String| {
        v.push(Check::fail(CheckKind::Validity, subject, m));
        ok = false;
    };
    for k in ["iat", "nbf", "exp"] {
        match seconds(claims, k) {
            None => {}
            Some(Err(())) => fail(format!("{k} is not a NumericDate")),
            Some(Ok(t)) if k == "exp" && t.saturating_add(skew) < now_ms => {
                fail("expired: exp has passed".into())
            }
            Some(Ok(t)) if k != "exp" && t > now_ms.saturating_add(skew) => {
                fail(format!("not yet valid: {k} is in the future"))
            }
            Some(Ok(_)) => {}
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

/// The payload of a key-binding JWT (SD-JWT specification, "Key Binding JWT").
#[derive(serde::Deserialize)]
struct KbPayload {
    iat: Value,
    aud: String,
    nonce: String,
    sd_hash: String,
}

#[allow(clippy::too_many_arguments)]
fn key_binding(
    kb: Option<&str>,
    presented: &str,
    claims: &serde_json::Map<String, Value>,
    sd_alg: SdAlg,
    policy: &Policy,
    now_ms: u64,
    subject: &str,
    v: &mut Verdict,
) {
    let Some(kb) = kb else {
        if policy.require_holder_binding {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                "no key-binding JWT: the presenter is not shown to hold the credential",
            ));
        }
        return;
    };
    let decoded = Jwt::parse(kb, "key-binding JWT").and_then(|jwt| {
        serde_json::from_slice::<KbPayload>(&jwt.payload)
            .map(|p| (jwt, p))
            .map_err(|e| CompactError::Decode(format!("key-binding JWT payload: {e}")))
    });
    let (kb, p) = match decoded {
        Ok(d) => d,
        Err(e) => {
            v.push(Check::fail(
                CheckKind::HolderBinding,
                subject,
                // The reasons name the key-binding JWT already.
                e.reason().to_owned(),
            ));
            return;
        }
    };
    let Some(cnf) = claims.get("cnf").and_then(|c| c.get("jwk")) else {
        v.push(Check::fail(
            CheckKind::HolderBinding,
            subject,
            "the credential has no cnf.jwk to bind a holder key",
        ));
        return;
    };
    if kb.header.typ.as_deref() != Some(KB_JWT_TYP) {
        v.push(Check::fail(
            CheckKind::HolderBinding,
            subject,
            format!("key-binding JWT typ must be {KB_JWT_TYP}"),
        ));
    }
    let bytes = kb.signing_input.as_bytes();
    let sig = kb.signature.as_slice();
    let alg = kb.header.alg.as_str();
    let verified = match dids::public_key_from_jwk(cnf) {
        Ok(key) => {
            is_eddsa(alg)
                && did_method::Signature::from_slice(sig)
                    .ok()
                    .is_some_and(|s| key.verify(bytes, &s).is_ok())
        }
        Err(_) => serde_json::from_value::<JWK>(cnf.clone())
            .ok()
            .zip(serde_json::from_value::<ssi::jwk::Algorithm>(Value::String(alg.to_owned())).ok())
            .is_some_and(|(jwk, alg)| {
                ssi::claims::jws::verify_bytes(alg, bytes, &jwk, sig).is_ok()
            }),
    };
    if verified {
        v.push(Check::pass(
            CheckKind::HolderBinding,
            subject,
            "key-binding JWT signed by the cnf key",
        ));
    } else {
        v.push(Check::fail(
            CheckKind::HolderBinding,
            subject,
            "key-binding JWT is not signed by the credential's cnf key",
        ));
    }
    if sd_alg.verify(presented.as_bytes(), &p.sd_hash) {
        v.push(Check::pass(
            CheckKind::HolderBinding,
            subject,
            "sd_hash covers the issuer JWT and the disclosures presented",
        ));
    } else {
        v.push(Check::fail(
            CheckKind::HolderBinding,
            subject,
            "sd_hash does not match the presented SD-JWT",
        ));
    }
    for (expected, got, what, pass) in [
        (
            &policy.challenge,
            p.nonce.as_str(),
            "nonce",
            "nonce is the expected one",
        ),
        (
            &policy.domain,
            p.aud.as_str(),
            "aud",
            "aud is the expected one",
        ),
    ] {
        match expected {
            Some(e) if e == got => v.push(Check::pass(CheckKind::Challenge, subject, pass)),
            Some(e) => v.push(Check::fail(
                CheckKind::Challenge,
                subject,
                format!("{what} is {got}, expected {e}"),
            )),
            None => {}
        }
    }
    let iat = p
        .iat
        .as_f64()
        .filter(|f| *f >= 0.0)
        .map(|f| (f * 1000.0) as u64);
    let skew = policy.clock_skew_s.saturating_mul(1000);
    let max_age = policy.max_key_binding_age_s.saturating_mul(1000);
    match iat {
        Some(t) if t > now_ms.saturating_add(skew) => v.push(Check::fail(
            CheckKind::Validity,
            subject,
            "key-binding JWT iat is in the future",
        )),
        Some(t) if t.saturating_add(max_age).saturating_add(skew) < now_ms => v.push(Check::fail(
            CheckKind::Validity,
            subject,
            format!(
                "key-binding JWT is {} s old; the policy accepts at most {} s",
                now_ms.saturating_sub(t) / 1000,
                policy.max_key_binding_age_s
            ),
        )),
        Some(_) => v.push(Check::pass(
            CheckKind::Validity,
            subject,
            "key-binding JWT is recent",
        )),
        None => v.push(Check::fail(
            CheckKind::Validity,
            subject,
            "key-binding JWT iat is not a NumericDate",
        )),
    }
}

/// Issues an SD-JWT VC: `claims` (with `iss`, `vct`, `cnf`, dates) signed with EdDSA by
/// `key`, the method `kid` of the issuer's DID; the claims named by `disclosable` (JSON
/// pointers such as `/given_name`) are concealed behind salted SHA-256 digests. Returns the
/// compact form, `<issuer JWT>~<disclosure>~…~`.
pub fn issue(
    claims: &serde_json::Map<String, Value>,
    disclosable: &[&str],
    kid: &str,
    key: &did_method::SecretKey,
) -> Result<String, SdJwtError> {
    use ssi::claims::sd_jwt::{JsonPointerBuf, SdAlg, SdJwtPayload};
    let pointers = disclosable
        .iter()
        .map(|p| {
            JsonPointerBuf::new(p.to_string()).map_err(|_| SdJwtError::NotAPointer(p.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (payload, disclosures) = SdJwtPayload::conceal(claims, SdAlg::Sha256, &pointers)?;
    let header = serde_json::json!({"alg": "EdDSA", "typ": SD_JWT_VC_TYP, "kid": kid});
    let mut out = sign_jwt(&header, &serde_json::to_value(&payload)?, key)?;
    for d in &disclosures {
        out.push('~');
        out.push_str(d.encoded.as_str());
    }
    out.push('~');
    Ok(out)
}

/// Presents an SD-JWT: keeps the disclosures of the claims named in `reveal` (top-level
/// claim names; all when `None`) and appends a key-binding JWT signed by `holder_key` (the
/// credential's `cnf` key) for `aud` and `nonce`, issued at `iat_s` (seconds).
pub fn present(
    sd_jwt: &str,
    reveal: Option<&[&str]>,
    holder_key: &did_method::SecretKey,
    aud: &str,
    nonce: &str,
    iat_s: u64,
) -> Result<String, SdJwtError> {
    use ssi::claims::sd_jwt::{DecodedDisclosure, DisclosureDescription, SdAlg, SdHash};
    let mut parts = sd_jwt.trim_end_matches('~').split('~');
    let jwt = parts.next().ok_or(SdJwtError::Empty)?;
    let mut out = format!("{jwt}~");
    for d in parts {
        let decoded = DecodedDisclosure::new(d).map_err(SdJwtError::Disclosure)?;
        let keep = match (&decoded.desc, reveal) {
            (_, None) => true,
            (DisclosureDescription::ObjectEntry { key, .. }, Some(names)) => {
                names.contains(&key.as_str())
            }
            (DisclosureDescription::ArrayItem(_), Some(_)) => true,
        };
        if keep {
            out.push_str(d);
            out.push('~');
        }
    }
    let sd = SdJwt::new(&out).map_err(|e| SdJwtError::Malformed(e.into_owned()))?;
    let sd_hash = SdHash::new(SdAlg::Sha256, sd);
    let header = serde_json::json!({"alg": "EdDSA", "typ": KB_JWT_TYP});
    let payload =
        serde_json::json!({"iat": iat_s, "aud": aud, "nonce": nonce, "sd_hash": sd_hash.0});
    out.push_str(&sign_jwt(&header, &payload, holder_key)?);
    Ok(out)
}

pub(crate) fn sign_jwt(
    header: &Value,
    payload: &Value,
    key: &did_method::SecretKey,
) -> Result<String, serde_json::Error> {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let h = serde_json::to_vec(header)?;
    let p = serde_json::to_vec(payload)?;
    let signing_input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(p)
    );
    let sig = key.sign(signing_input.as_bytes());
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(sig.to_bytes())
    ))
}
