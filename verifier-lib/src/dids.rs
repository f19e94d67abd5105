//! Verification methods to keys, offline: `did:key` and `did:jwk` (Ed25519) from the DID
//! itself; `did:alliance` only from a DID document proven by a stapled registry proof.
//! A method resolves only if its controller's document lists it under the relationship the
//! proof claims (`assertionMethod` for credentials, `authentication` for presentations).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use did_method::{Did, PublicKey};

use crate::registry::RegistryEvidence;

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

/// Resolves `method` (a DID URL) for `relationship`, or says why not.
pub fn resolve(
    method: &str,
    relationship: Relationship,
    evidence: &RegistryEvidence,
) -> Result<ResolvedKey, String> {
    let (did, fragment) = method
        .split_once('#')
        .ok_or_else(|| format!("verification method {method} has no #fragment"))?;
    if let Some(mb) = did.strip_prefix("did:key:") {
        // did:key (Ed25519): one method, `did:key:X#X`, in every relationship.
        if fragment != mb {
            return Err(format!("{method} is not the key of {did}"));
        }
        let key = PublicKey::from_multibase(mb)
            .map_err(|e| format!("{did} is not an Ed25519 did:key: {e}"))?;
        key.validate()
            .map_err(|e| format!("{did} holds an unusable key: {e}"))?;
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key,
        });
    }
    if let Some(encoded) = did.strip_prefix("did:jwk:") {
        // did:jwk: one method, `#0`, in every relationship unless the JWK is for encryption.
        if fragment != "0" {
            return Err(format!("{method}: a did:jwk has only the method #0"));
        }
        let key = jwk_key(encoded).map_err(|e| format!("{did}: {e}"))?;
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key,
        });
    }
    if did.starts_with("did:alliance:") {
        let parsed = Did::parse(did).map_err(|e| format!("{did}: {e}"))?;
        let doc = evidence.did_document(&parsed)?;
        let vm = doc
            .verification_method
            .iter()
            .find(|vm| vm.id == method || (vm.id.starts_with('#') && vm.id[1..] == *fragment))
            .ok_or_else(|| format!("{did}'s proven document has no method {method}"))?;
        let listed = match relationship {
            Relationship::AssertionMethod => &doc.assertion_method,
            Relationship::Authentication => &doc.authentication,
        };
        let short = format!("#{fragment}");
        if !listed.iter().any(|r| r == method || *r == short) {
            return Err(format!(
                "{method} is not listed under {} in {did}'s proven document",
                relationship.proof_purpose()
            ));
        }
        if vm.controller != did {
            return Err(format!(
                "{method} is controlled by {}, not {did}",
                vm.controller
            ));
        }
        return Ok(ResolvedKey {
            controller: did.to_owned(),
            key: vm.public_key_multibase,
        });
    }
    Err(format!(
        "{did}: only did:alliance (with a registry proof), did:key and did:jwk are accepted"
    ))
}

fn jwk_key(encoded: &str) -> Result<PublicKey, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(encoded)
        .map_err(|_| "not base64url".to_string())?;
    let jwk: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|_| "not a JSON JWK".to_string())?;
    public_key_from_jwk(&jwk)
}

/// The Ed25519 key of an OKP JWK (`{"kty":"OKP","crv":"Ed25519","x":…}`), refusing private
/// keys and keys meant for encryption.
pub fn public_key_from_jwk(jwk: &serde_json::Value) -> Result<PublicKey, String> {
    let field = |k: &str| jwk.get(k).and_then(|v| v.as_str());
    if field("kty") != Some("OKP") || field("crv") != Some("Ed25519") {
        return Err("only Ed25519 OKP keys are accepted".into());
    }
    if jwk.get("d").is_some() {
        return Err("the JWK contains a private key".into());
    }
    if field("use") == Some("enc") {
        return Err("the JWK is for encryption".into());
    }
    let x = field("x").ok_or("the JWK has no x")?;
    let raw = URL_SAFE_NO_PAD
        .decode(x)
        .map_err(|_| "the JWK's x is not base64url".to_string())?;
    let key = PublicKey::from_slice(&raw).map_err(|e| e.to_string())?;
    key.validate().map_err(|e| e.to_string())?;
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
        let e = resolve("did:web:example.org#k", Relationship::AssertionMethod, &ev).unwrap_err();
        assert!(e.contains("only did:alliance"), "{e}");
        let e = resolve(
            "did:alliance:testnet:4Vx9bYbS2NrTfvzKcWm2aD#key-1",
            Relationship::AssertionMethod,
            &ev,
        )
        .unwrap_err();
        assert!(e.contains("no valid registry proof"), "{e}");
    }

    #[test]
    fn private_or_non_ed25519_jwks_are_refused() {
        let k = SecretKey::from_seed(&[3; 32]).public_key();
        let mut j = jwk_of(&k);
        j["d"] = "AAAA".into();
        assert!(public_key_from_jwk(&j).unwrap_err().contains("private"));
        let p256 = serde_json::json!({"kty":"EC","crv":"P-256","x":"a","y":"b"});
        assert!(public_key_from_jwk(&p256).is_err());
    }
}
