//! A W3C credential's types as fully expanded IRIs, under its own (pinned) contexts: what
//! DCQL's `type_values` match against (OpenID4VP 1.0 Appendix B.1.1), for the wallet choosing
//! credentials and for the verifier checking a response.

use serde_json::{Map, Value};

use crate::rdfc::{Rdfc2022, RdfcError};

impl Rdfc2022 {
    /// The expanded IRIs of `document`'s `type` (e.g. `VerifiableCredential` under the VC 2.0
    /// context → `https://www.w3.org/2018/credentials#VerifiableCredential`). Only `@context`
    /// and `type` are processed, so the cost does not grow with the claims; a context that is
    /// not pinned is refused as everywhere else (nothing is fetched).
    pub fn expanded_types(&self, document: &Value) -> Result<Vec<String>, RdfcError> {
        let context = document
            .get("@context")
            .ok_or_else(|| RdfcError::Malformed("the document has no @context".into()))?;
        let types = document
            .get("type")
            .ok_or_else(|| RdfcError::Malformed("the document has no type".into()))?;
        let scope = self.active_context(context)?;
        let mut body = Map::new();
        body.insert("type".into(), types.clone());
        let expanded = self.expand(&scope.active, &Value::Object(body))?;
        let node = expanded
            .main_node()
            .ok_or_else(|| RdfcError::Expansion("the document's types did not expand".into()))?;
        Ok(node.types().iter().map(|t| t.to_string()).collect())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::contexts::PinnedContexts;
    use crate::rdfc::Rdfc2022;

    #[test]
    fn a_credentials_types_expand_under_its_pinned_contexts() {
        let r = Rdfc2022::new(PinnedContexts::standard());
        let licence = json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", "https://w3id.org/alliance-id/credentials/v1"],
            "type": ["VerifiableCredential", "DriverLicense"],
            "credentialSubject": {"name": "Ada"}
        });
        assert_eq!(
            r.expanded_types(&licence).unwrap(),
            vec![
                "https://www.w3.org/2018/credentials#VerifiableCredential".to_owned(),
                "https://w3id.org/alliance-id/credentials#DriverLicense".to_owned(),
            ]
        );
        // A single type as a string, and an IRI left as it is.
        let one = json!({"@context": "https://www.w3.org/ns/credentials/v2", "type": "https://example.org/T"});
        assert_eq!(
            r.expanded_types(&one).unwrap(),
            vec!["https://example.org/T".to_owned()]
        );
        // Nothing is fetched: an unknown context is refused.
        let remote =
            json!({"@context": "https://evil.example/ctx", "type": "VerifiableCredential"});
        assert!(r.expanded_types(&remote).is_err());
        assert!(
            r.expanded_types(&json!({"type": "VerifiableCredential"}))
                .is_err()
        );
    }
}
