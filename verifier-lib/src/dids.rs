//! Verification methods to keys, offline: `did:key` and `did:jwk` (Ed25519) from the DID
//! itself; `did:alliance` only from a DID document proven by a stapled registry proof.
//! A method resolves only if its controller's document lists it under the relationship the
//! proof claims (`assertionMethod` for credentials, `authentication` for presentations).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::crypto::CryptoError;
use did_method::did::DidError;
use did_method::{Did, PublicKey};

use crate::registry::{EvidenceError, RegistryEvidence};

/// A verification relationship (DID Core).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relationship {
    AssertionMethod,
    Authentication,
}

impl Relationship {
    /// The proof purpose that names this relationship.
    pub fn proof_purpose(self) -> &'static str {
        match self {
            Relationship::AssertionMethod => "assertionMethod",
            Relationship::Authentication => "authentication",
        }
    }
}

/// A verification method resolved to its controller and key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedKey {
    /// The DID whose document lists the method.
    pub controller: String,
    pub key: PublicKey,
}

/// Why a verification method does not resolve to a key for the relationship a proof claims.
/// The text is the reason a verdict shows.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("verification method {method} has no #fragment")]
    NoFragment { method: String },
    #[error("{method} is not the key of {did}")]
    NotTheKey { method: String, did: String },
    #[error("{did} is not an Ed25519 did:key: {error}")]
    NotEd25519DidKey { did: String, error: CryptoError },
    #[error("{did} holds an unusable key: {error}")]
    UnusableKey { did: String, error: CryptoError },
    #[error("{method}: a did:jwk has only the method #0")]
    NotJwkMethod { method: String },
    #[error("{did}: {error}")]
    Jwk { did: String, error: JwkError },
    #[error("{did}: {error}")]
    InvalidDid { did: String, error: DidError },
    /// The registry evidence does not prove a usable document of the DID.
    #[error(transparent)]
    Evidence(#[from] EvidenceError),
    #[error("{did}'s proven document has no method {method}")]
    NoMethod { did: String, method: String },
    #[error("{method} is not listed under {purpose} in {did}'s proven document")]
    NotListed {
        method: String,
        /// The relationship's proof purpose (`assertionMethod`, `authentication`).
        purpose: &'static str,
        did: String,
    },
    #[error("{method} is controlled by {controller}, not {did}")]
    WrongController {
        method: String,
        controller: String,
        did: String,
    },
    #[error("{did}: only did:alliance (with a registry proof), did:key and did:jwk are accepted")]
    UnsupportedMethod { did: String },
}

/// Why a JWK is not a usable Ed25519 public key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwkError {
    /// A `did:jwk` whose method-specific id is not base64url.
    #[error("not base64url")]
    NotBase64,
    /// A `did:jwk` whose method-specific id is not JSON.
    #[error("not a JSON JWK")]
    NotJson,
    #[error("only Ed25519 OKP keys are accepted")]
    NotEd25519,
    #[error("the JWK contains a private key")]
    PrivateKey,
    #[error("the JWK is for encryption")]
    ForEncryption,
    #[error("the JWK has no x")]
    NoX,
    #[error("the JWK's x is not base64url")]
    XNotBase64,
    /// `x` is not a valid Ed25519 public key.
    #[error(transparent)]
    Key(#[from] CryptoError),
}

/// Resolves `method` (a DID URL) for `relationship`, or says why not.
pub fn resolve(
    method: &str,
    relationship: Relationship,
    evidence: &RegistryEvidence,
) -> Result<ResolvedKey, ResolveError> {
    let (did, fragment) = method
        .split_once('#')
        .ok_or_else(|| ResolveError::NoFragment {
            method: method.to_owned(),
        })?;
    if let Some(mb) = did.strip_prefix("did:key:") {
        // did:key (Ed25519): one method, `did:key:X#X`, in every relationship.
        if fragment != mb {
            return Err(ResolveError::NotTheKey {
                method: method.to_owned(),
                did: did.to_owned(),
            });
        }
        let key =
            PublicKey::from_multibase(mb).map_err(|error| ResolveError::NotEd25519DidKey {
                did: did.to_owned(),
                error,
            })?;
        key.validate().map_err(|error| ResolveError::UnusableKey {
            did: did.to_owned(),
            error,
        })?;
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key,
        });
    }
    if let Some(encoded) = did.strip_prefix("did:jwk:") {
        // did:jwk: one method, `#0`, in every relationship unless the JWK is for encryption.
        if fragment != "0" {
            return Err(ResolveError::NotJwkMethod {
                method: method.to_owned(),
            });
        }
        let key = jwk_key(encoded).map_err(|error| ResolveError::Jwk {
            did: did.to_owned(),
            error,
        })?;
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key,
        });
    }
    if did.starts_with("did:alliance:") {
        let parsed = Did::parse(did).map_err(|error| ResolveError::InvalidDid {
            did: did.to_owned(),
            error,
        })?;
        let doc = evidence.did_document(&parsed)?;
        let vm = doc
            .verification_method
            .iter()
            .find(|vm| vm.id == method || (vm.id.starts_with('#') && vm.id[1..] == *fragment))
            .ok_or_else(|| ResolveError::NoMethod {
                did: did.to_owned(),
                method: method.to_owned(),
            })?;
        let listed = match relationship {
            Relationship::AssertionMethod => &doc.assertion_method,
            Relationship::Authentication => &doc.authentication,
        };
        let short = format!("#{fragment}");
        if !listed.iter().any(|r| r == method || *r == short) {
            return Err(ResolveError::NotListed {
                method: method.to_owned(),
                purpose: relationship.proof_purpose(),
                did: did.to_owned(),
            });
        }
        if vm.controller != did {
            return Err(ResolveError::WrongController {
                method: method.to_owned(),
                controller: vm.controller.clone(),
                did: did.to_owned(),
            });
        }
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key: vm.public_key_multibase,
        });
    }
    Err(ResolveError::UnsupportedMethod {
        did: did.to_owned(),
    })
}

fn jwk_key(encoded: &str) -> Result<PublicKey, JwkError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| JwkError::NotBase64)?;
    let jwk: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| JwkError::NotJson)?;
    public_key_from_jwk(&jwk)
}

/// The Ed25519 key of an OKP JWK (`{"kty":"OKP","crv":"Ed25519","x":…}`), refusing private
/// keys and keys meant for encryption.
pub fn public_key_from_jwk(jwk: &serde_json::Value) -> Result<PublicKey, JwkError> {
    let field = |k: &str| jwk.get(k).and_then(|v| v.as_str());
    if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
        return Err(JwkError::NotEd25519);
    }
    if jwk.get("d").is_some() {
        return Err(JwkError::PrivateKey);
    }
    if field("use") == Some("enc") {
        return Err(JwkError::ForEncryption);
    }
    let x = field("x").ok_or(JwkError::NoX)?;
    let raw = URL_SAFE_NO_PAD
        .decode(x)
        .map_err(|_| JwkError::XNotBase64)?;
    let key = PublicKey::from_slice(&raw)?;
    key.validate()?;
    Ok(key)
}

/// The `did:key` of an Ed25519 key, and its one verification method.
pub fn did_key(key: &PublicKey) -> (String, String) {
    let mb = key.to_multibase();
    (format!("did:key:{mb}"), format!("did:key:{mb}#{mb}"))
}

/// The OKP JWK of an Ed25519 public key.
pub fn jwk_of(key: &PublicKey) -> serde_json::Value {
    serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": URL_SAFE_NO_PAD.encode(key.as_bytes())})
}

#[cfg(test)]
mod tests {
    use super::*;
    use did_method::SecretKey;

    #[test]
    fn did_key_and_did_jwk_resolve_locally() {
        let k = SecretKey::from_seed(&[3; 32]).public_key();
        let ev = RegistryEvidence::default();
        let (did, vm) = did_key(&k);
        let r = resolve(&vm, Relationship::AssertionMethod, &ev).unwrap();
        assert_eq!((r.controller.as_str(), r.key), (did.as_str(), k));
        assert!(resolve(&format!("{did}#other"), Relationship::Authentication, &ev).is_err());

        let jwk = jwk_of(&k).to_string();
        let jdid = format!("did:jwk:{}", URL_SAFE_NO_PAD.encode(jwk));
        let r = resolve(&format!("{jdid}#0"), Relationship::Authentication, &ev).unwrap();
        assert_eq!(r.key, k);
        assert!(resolve(&format!("{jdid}#1"), Relationship::Authentication, &ev).is_err());
    }

    #[test]
    fn did_key_vector_decodes_to_its_key() {
        // w3c-ccg/did-method-key test vector (ed25519-x25519.json, first entry).
        let did = "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp";
        let r = resolve(
            &format!("{did}#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
            Relationship::AssertionMethod,
            &RegistryEvidence::default(),
        )
        .unwrap();
        assert_eq!(r.controller, did);
    }

    #[test]
    fn other_methods_and_unproven_alliance_dids_are_refused() {
        let ev = RegistryEvidence::default();
        let e = resolve("did:web:example.org#k", Relationship::AssertionMethod, &ev)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "did:web:example.org: only did:alliance (with a registry proof), did:key and did:jwk are accepted"
        );
        let e = resolve(
            "did:alliance:testnet:4Vx9bYbS2NrTfvzKcWm2aD#key-1",
            Relationship::AssertionMethod,
            &ev,
        )
        .unwrap_err();
        assert!(matches!(e, ResolveError::Evidence(_)), "{e}");
        assert!(e.to_string().contains("no valid registry proof"), "{e}");
    }

    #[test]
    fn private_or_non_ed25519_jwks_are_refused() {
        let k = SecretKey::from_seed(&[3; 32]).public_key();
        let mut j = jwk_of(&k);
        j["d"] = "AAAA".into();
        assert_eq!(public_key_from_jwk(&j), Err(JwkError::PrivateKey));
        assert_eq!(
            JwkError::PrivateKey.to_string(),
            "the JWK contains a private key"
        );
        let p256 = serde_json::json!({"kty":"EC","crv":"P-256","x":"a","y":"b"});
        assert!(public_key_from_jwk(&p256).is_err());
    }
}
