//! The JSON-LD contexts a verifier accepts, pinned: shipped in the binary, looked up by exact
//! IRI, never fetched. A document naming any other context is rejected.

use std::collections::HashMap;
use std::sync::Arc;

use ssi::json_ld::syntax::{Parse, Value as JsonValue};
use ssi::json_ld::{Iri, IriBuf, LoadError, Loader, RemoteDocument};

/// The Alliance ID claims vocabulary: every claim term of an Alliance credential type is an
/// IRI under `https://w3id.org/alliance-id/credentials#`.
pub const ALLIANCE_CREDENTIALS_V1: &str = "https://w3id.org/alliance-id/credentials/v1";
const ALLIANCE_CREDENTIALS_V1_JSON: &str =
    include_str!("../contexts/alliance-credentials-v1.jsonld");

#[derive(Debug, thiserror::Error)]
pub enum ContextError {
    #[error("`{0}` is not an absolute IRI")]
    BadIri(String),
    #[error("context `{iri}` is not JSON: {message}")]
    BadJson { iri: String, message: String },
}

#[derive(Debug, thiserror::Error)]
#[error("unknown JSON-LD context {0} (only pinned contexts are accepted; none is fetched)")]
pub struct UnknownContext(pub IriBuf);

/// A set of pinned contexts; cheap to clone.
#[derive(Clone, Debug)]
pub struct PinnedContexts {
    docs: Arc<HashMap<IriBuf, RemoteDocument>>,
}

impl PinnedContexts {
    /// What Alliance credentials and presentations use: VC 2.0 (with Bitstring Status List
    /// terms), Data Integrity 2, Multikey 1, and the Alliance claims vocabulary.
    pub fn standard() -> Self {
        use ssi::json_ld as j;
        let mut docs = HashMap::new();
        for (iri, doc) in [
            (
                j::CREDENTIALS_V2_CONTEXT,
                &*j::CREDENTIALS_V2_CONTEXT_DOCUMENT,
            ),
            (
                j::W3ID_DATA_INTEGRITY_V2_CONTEXT,
                &*j::W3ID_DATA_INTEGRITY_V2_CONTEXT_DOCUMENT,
            ),
            (
                j::W3ID_MULTIKEY_V1_CONTEXT,
                &*j::W3ID_MULTIKEY_V1_CONTEXT_DOCUMENT,
            ),
        ] {
            docs.insert(iri.to_owned(), doc.clone());
        }
        let mut this = Self {
            docs: Arc::new(docs),
        };
        // The shipped file is checked by a test; a parse failure here cannot happen at run
        // time without failing it, and would only leave the context out.
        if let Ok(with) = this
            .clone()
            .with_context(ALLIANCE_CREDENTIALS_V1, ALLIANCE_CREDENTIALS_V1_JSON)
        {
            this = with;
        }
        this
    }

    /// Adds the W3C examples context (`https://www.w3.org/ns/credentials/examples/v2`, a bare
    /// `@vocab`): for the specifications' test vectors, not for production policies.
    pub fn with_examples(self) -> Self {
        use ssi::json_ld as j;
        self.insert(
            j::CREDENTIALS_EXAMPLES_V2_CONTEXT.to_owned(),
            j::CREDENTIALS_EXAMPLES_V2_CONTEXT_DOCUMENT.clone(),
        )
    }

    /// Adds (or replaces) one context from its JSON text.
    pub fn with_context(self, iri: &str, json: &str) -> Result<Self, ContextError> {
        let iri = IriBuf::new(iri.to_owned()).map_err(|e| ContextError::BadIri(e.0))?;
        let (value, _) = JsonValue::parse_str(json).map_err(|e| ContextError::BadJson {
            iri: iri.to_string(),
            message: e.to_string(),
        })?;
        let doc = RemoteDocument::new(Some(iri.clone()), None, value);
        Ok(self.insert(iri, doc))
    }

    fn insert(self, iri: IriBuf, doc: RemoteDocument) -> Self {
        let mut docs = (*self.docs).clone();
        docs.insert(iri, doc);
        Self {
            docs: Arc::new(docs),
        }
    }

    pub fn contains(&self, iri: &str) -> bool {
        Iri::new(iri).is_ok_and(|i| self.docs.contains_key(i))
    }

    /// Every object key at any depth of every pinned context document: a superset of the
    /// terms that any active context built from these contexts can define (including
    /// type- and property-scoped ones). `None` if a document could not be read.
    pub fn all_keys(&self) -> Option<std::collections::HashSet<String>> {
        fn walk(v: &serde_json::Value, out: &mut std::collections::HashSet<String>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Object(o) => {
                    for (k, x) in o {
                        out.insert(k.clone());
                        walk(x, out);
                    }
                }
                _ => {}
            }
        }
        let mut out = std::collections::HashSet::new();
        for doc in self.docs.values() {
            // Through text: json-syntax's values print as JSON.
            let v = serde_json::from_str(&doc.document().to_string()).ok()?;
            walk(&v, &mut out);
        }
        Some(out)
    }

    /// The pinned IRIs, sorted.
    pub fn iris(&self) -> Vec<String> {
        let mut v: Vec<String> = self.docs.keys().map(|i| i.to_string()).collect();
        v.sort();
        v
    }
}

impl Loader for PinnedContexts {
    async fn load(&self, url: &Iri) -> Result<RemoteDocument, LoadError> {
        self.docs
            .get(url)
            .cloned()
            .ok_or_else(|| LoadError::new(url.to_owned(), UnknownContext(url.to_owned())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_set_is_exactly_the_pinned_contexts() {
        let c = PinnedContexts::standard();
        assert_eq!(
            c.iris(),
            vec![
                "https://w3id.org/alliance-id/credentials/v1",
                "https://w3id.org/security/data-integrity/v2",
                "https://w3id.org/security/multikey/v1",
                "https://www.w3.org/ns/credentials/v2",
            ]
        );
        assert!(!c.contains("https://www.w3.org/ns/credentials/examples/v2"));
        assert!(
            c.with_examples()
                .contains("https://www.w3.org/ns/credentials/examples/v2")
        );
    }

    #[test]
    fn unknown_context_is_an_error_not_a_fetch() {
        let c = PinnedContexts::standard();
        let iri = Iri::new("https://w3id.org/citizenship/v4rc1").unwrap();
        let err = pollster::block_on(c.load(iri)).unwrap_err();
        assert!(err.to_string().contains("citizenship/v4rc1"), "{err}");
    }

    #[test]
    fn bad_added_contexts_are_refused() {
        let c = PinnedContexts::standard();
        assert!(matches!(
            c.clone().with_context("not an iri", "{}"),
            Err(ContextError::BadIri(_))
        ));
        assert!(matches!(
            c.with_context("https://example.org/c", "{"),
            Err(ContextError::BadJson { .. })
        ));
    }
}
