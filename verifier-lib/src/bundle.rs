//! The presentation bundle (`docs/presentation-bundle.md`): a presentation and what a
//! verifier would otherwise fetch, stapled beside it. This type is the format's one
//! definition: the wallet builds it, the verifier's readers take their member names from it,
//! and the fast scanner (`input::bundle_parts`) is tested against it.
//!
//! The members are kept as the JSON text they came as: the registry proofs as the node wrote
//! them and each status list as the exact text its issuer served (the registry anchors the
//! SHA-256 of those bytes), so nothing between the wallet and the verifier re-encodes them.
//! A verifier reads a bundle from its bytes ([`crate::Verifier::verify_bytes`]), where size,
//! depth and duplicate keys are checked before anything is parsed: serialize a `Bundle` to
//! hand it over.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Status list URL → the list exactly as its issuer served it (a Bitstring status list
/// credential's JSON text, or a Status List Token's compact JWT). Ordered, so a bundle
/// serializes the same way every time.
pub type StatusLists = BTreeMap<String, String>;

/// A presentation bundle (v1).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// A Data Integrity `VerifiablePresentation` (an object), or an SD-JWT VC presentation
    /// (a string), as JSON text: the verifier parses it itself, refusing duplicate keys.
    pub presentation: Box<RawValue>,
    /// Registry proofs (`did_method::RegistryProof`) of the issuers' DID documents,
    /// accreditations and status-list anchors, each as the JSON text of one proof.
    #[serde(default)]
    pub registry_proofs: Vec<Box<RawValue>>,
    /// The status lists the credentials point to.
    #[serde(default)]
    pub status_lists: StatusLists,
}

impl Bundle {
    /// The member holding the presentation.
    pub const PRESENTATION: &'static str = "presentation";
    /// The member holding the registry proofs.
    pub const REGISTRY_PROOFS: &'static str = "registryProofs";
    /// The member holding the status lists.
    pub const STATUS_LISTS: &'static str = "statusLists";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_names_are_the_ones_serde_writes_and_reads() {
        let raw = |s: &str| RawValue::from_string(s.to_owned()).unwrap();
        let bundle = Bundle {
            presentation: raw(r#"{"type":"VerifiablePresentation"}"#),
            registry_proofs: vec![raw(r#"{"key":"did/x"}"#)],
            status_lists: [("https://i.example/1".to_owned(), "{\"a\":1}".to_owned())].into(),
        };
        let value = serde_json::to_value(&bundle).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(
            keys,
            [
                Bundle::PRESENTATION,
                Bundle::REGISTRY_PROOFS,
                Bundle::STATUS_LISTS
            ]
        );
        // The stapled members travel as the very bytes they came as.
        let text = serde_json::to_string(&bundle).unwrap();
        assert_eq!(
            text,
            r#"{"presentation":{"type":"VerifiablePresentation"},"registryProofs":[{"key":"did/x"}],"statusLists":{"https://i.example/1":"{\"a\":1}"}}"#
        );
        let back: Bundle = serde_json::from_str(&text).unwrap();
        assert_eq!(back.presentation.get(), bundle.presentation.get());
        assert_eq!(back.registry_proofs[0].get(), r#"{"key":"did/x"}"#);
        assert_eq!(back.status_lists, bundle.status_lists);
        // Only the presentation is required.
        let bare: Bundle = serde_json::from_str(r#"{"presentation":"a~b~"}"#).unwrap();
        assert!(bare.registry_proofs.is_empty() && bare.status_lists.is_empty());
        assert!(serde_json::from_str::<Bundle>(r#"{"registryProofs":[]}"#).is_err());
    }
}
