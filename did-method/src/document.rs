//! DID documents (W3C DID Core 1.0) as the registry stores them: Ed25519 `Multikey`
//! verification methods, verification relationships by reference, and services.

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::did::Did;

pub const DID_CONTEXT: &str = "https://www.w3.org/ns/did/v1";
pub const MULTIKEY_CONTEXT: &str = "https://w3id.org/security/multikey/v1";

/// Limits that keep documents small and cheap to check.
pub const MAX_DOCUMENT_BYTES: usize = 16 * 1024;
pub const MAX_METHODS: usize = 16;
pub const MAX_SERVICES: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DID document: {0}")]
pub struct DocumentError(pub String);

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VerificationMethod {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub controller: String,
    pub public_key_multibase: PublicKey,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    pub id: String,
    #[serde(rename = "type")]
    pub type_: String,
    pub service_endpoint: String,
}

/// A DID document. Relationships hold references (ids of entries in `verificationMethod`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DidDocument {
    #[serde(rename = "@context")]
    pub context: Vec<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also_known_as: Vec<String>,
    pub verification_method: Vec<VerificationMethod>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authentication: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub assertion_method: Vec<String>,
    /// Keys allowed to sign registry operations on this DID (update, status-list anchors).
    pub capability_invocation: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capability_delegation: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service: Vec<Service>,
}

impl DidDocument {
    /// A document with one key used for authentication, assertion and registry updates.
    pub fn with_single_key(did: &Did, key: &PublicKey) -> Self {
        let vm = did.url("key-1");
        Self {
            context: vec![DID_CONTEXT.into(), MULTIKEY_CONTEXT.into()],
            id: did.to_string(),
            also_known_as: vec![],
            verification_method: vec![VerificationMethod {
                id: vm.clone(),
                type_: "Multikey".into(),
                controller: did.to_string(),
                public_key_multibase: *key,
            }],
            authentication: vec![vm.clone()],
            assertion_method: vec![vm.clone()],
            capability_invocation: vec![vm],
            capability_delegation: vec![],
            service: vec![],
        }
    }

    /// Checks the document is well formed for `did`.
    pub fn validate(&self, did: &Did) -> Result<(), DocumentError> {
        let err = |m: String| Err(DocumentError(m));
        if self.id != did.to_string() {
            return err(format!("id {} is not the DID {did}", self.id));
        }
        if self.context.first().map(String::as_str) != Some(DID_CONTEXT) {
            return err(format!("@context must start with {DID_CONTEXT}"));
        }
        if !self.context.iter().any(|c| c == MULTIKEY_CONTEXT) {
            return err(format!("@context must include {MULTIKEY_CONTEXT}"));
        }
        if self.verification_method.is_empty() || self.verification_method.len() > MAX_METHODS {
            return err(format!(
                "between 1 and {MAX_METHODS} verification methods are required"
            ));
        }
        if self.service.len() > MAX_SERVICES {
            return err(format!("at most {MAX_SERVICES} services"));
        }
        let prefix = format!("{did}#");
        let mut ids = std::collections::HashSet::new();
        for vm in &self.verification_method {
            if !vm.id.starts_with(&prefix) || vm.id.len() == prefix.len() {
                return err(format!(
                    "verification method id {} must be {prefix}<fragment>",
                    vm.id
                ));
            }
            if vm.type_ != "Multikey" {
                return err(format!(
                    "verification method {} has type {}; only Multikey is supported",
                    vm.id, vm.type_
                ));
            }
            if vm.controller != self.id {
                return err(format!(
                    "verification method {} must be controlled by {}",
                    vm.id, self.id
                ));
            }
            if !ids.insert(vm.id.as_str()) {
                return err(format!("duplicate id {}", vm.id));
            }
            if let Err(e) = vm.public_key_multibase.validate() {
                return err(format!("verification method {}: {e}", vm.id));
            }
        }
        for s in &self.service {
            if !s.id.starts_with(&prefix) || s.id.len() == prefix.len() {
                return err(format!("service id {} must be {prefix}<fragment>", s.id));
            }
            if s.type_.is_empty() || s.service_endpoint.is_empty() {
                return err(format!("service {} needs a type and an endpoint", s.id));
            }
            if !ids.insert(s.id.as_str()) {
                return err(format!("duplicate id {}", s.id));
            }
        }
        for (name, rel) in [
            ("authentication", &self.authentication),
            ("assertionMethod", &self.assertion_method),
            ("capabilityInvocation", &self.capability_invocation),
            ("capabilityDelegation", &self.capability_delegation),
        ] {
            for r in rel {
                if !self.verification_method.iter().any(|vm| &vm.id == r) {
                    return err(format!(
                        "{name} refers to {r}, which is not a verification method"
                    ));
                }
            }
        }
        if self.capability_invocation.is_empty() {
            return err(
                "capabilityInvocation needs at least one key (it controls registry updates)".into(),
            );
        }
        let size = self.json_size();
        if size > MAX_DOCUMENT_BYTES {
            return err(format!(
                "document is {size} bytes; at most {MAX_DOCUMENT_BYTES}"
            ));
        }
        Ok(())
    }

    /// The exact size of the document's JSON, counted without building it.
    fn json_size(&self) -> usize {
        struct Count(usize);
        impl std::io::Write for Count {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0 += buf.len();
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let mut c = Count(0);
        match serde_json::to_writer(&mut c, self) {
            Ok(()) => c.0,
            Err(_) => usize::MAX,
        }
    }

    fn keys_in(&self, rel: &[String]) -> impl Iterator<Item = &PublicKey> {
        self.verification_method
            .iter()
            .filter(move |vm| rel.iter().any(|r| r == &vm.id))
            .map(|vm| &vm.public_key_multibase)
    }

    /// May `key` sign registry operations for this DID?
    pub fn can_invoke(&self, key: &PublicKey) -> bool {
        self.keys_in(&self.capability_invocation).any(|k| k == key)
    }

    /// May `key` sign credentials and status lists (and anchor them) for this DID?
    pub fn can_assert(&self, key: &PublicKey) -> bool {
        self.keys_in(&self.assertion_method).any(|k| k == key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chain::ChainId;
    use crate::crypto::SecretKey;

    fn did() -> (Did, PublicKey) {
        let k = SecretKey::from_seed(&[5; 32]).public_key();
        (Did::derive(&ChainId::new("t").unwrap(), &k, &[0; 32]), k)
    }

    #[test]
    fn single_key_document_is_valid() {
        let (d, k) = did();
        let doc = DidDocument::with_single_key(&d, &k);
        doc.validate(&d).unwrap();
        assert!(doc.can_invoke(&k));
        assert!(doc.can_assert(&k));
        let json = serde_json::to_value(&doc).unwrap();
        assert_eq!(json["verificationMethod"][0]["type"], "Multikey");
        assert_eq!(json["capabilityInvocation"][0], format!("{d}#key-1"));
    }

    #[test]
    fn size_limit_counts_the_real_json() {
        let (d, k) = did();
        let mut doc = DidDocument::with_single_key(&d, &k);
        for i in 0..10 {
            doc.service.push(Service {
                id: d.url(&format!("s{i}")),
                type_: "T".repeat(i * 7 + 1),
                service_endpoint: "https://x.example/".repeat(i + 1),
            });
            doc.also_known_as.push("a".repeat(i * 13));
        }
        let real = serde_json::to_vec(&doc).unwrap().len();
        assert_eq!(doc.json_size(), real);
        doc.validate(&d).unwrap();
        // Characters JSON escapes count as they are sent.
        doc.also_known_as.push("\"".repeat(MAX_DOCUMENT_BYTES / 2));
        assert!(doc.validate(&d).unwrap_err().0.contains("bytes"));
    }

    #[test]
    fn rejects_bad_documents() {
        let (d, k) = did();
        let mut doc = DidDocument::with_single_key(&d, &k);
        doc.capability_invocation = vec![format!("{d}#nope")];
        assert!(doc.validate(&d).is_err());
        let mut doc = DidDocument::with_single_key(&d, &k);
        doc.capability_invocation.clear();
        assert!(doc.validate(&d).is_err());
        let mut doc = DidDocument::with_single_key(&d, &k);
        doc.id = "did:alliance:t:other".into();
        assert!(doc.validate(&d).is_err());
        let mut doc = DidDocument::with_single_key(&d, &k);
        doc.verification_method[0].controller = "did:example:x".into();
        assert!(doc.validate(&d).is_err());
        let unknown = serde_json::json!({"@context":[DID_CONTEXT], "id": d.to_string(), "verificationMethod": [], "capabilityInvocation": [], "evil": 1});
        assert!(serde_json::from_value::<DidDocument>(unknown).is_err());
    }
}
