//! `eddsa-rdfc-2022` Data Integrity proofs (W3C vc-di-eddsa) with a cache of processed
//! JSON-LD contexts.
//!
//! The transformation is ssi's own (JSON-LD expansion with ssi's strict policy, RDF
//! conversion and URDNA2015/RDFC-1.0 canonicalization from `ssi::rdf`); what differs is that
//! each distinct top-level `@context` is processed once and reused as the initial active
//! context, instead of being loaded and processed again on every expansion. The W3C vectors'
//! intermediate values and a differential test against ssi pin the bytes.
//!
//! Signatures are checked with strict Ed25519 (`did_method::PublicKey::verify`) and only the
//! base58btc (`z`) multibase form of `proofValue` is accepted.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use did_method::{PublicKey, SecretKey, Signature};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use ssi::json_ld::context_processing::{Options as ProcessingOptions, Process};
use ssi::json_ld::expansion::{Action, Options as ExpansionOptions, Policy};
use ssi::json_ld::syntax::context::Context as LocalContext;
use ssi::json_ld::syntax::{TryFromJson, Value as LdJson};
use ssi::json_ld::{BlankIdBuf, Expand, ExpandedDocument, IriBuf};
use ssi::rdf::{AnyLdEnvironment, LdEnvironment};

use crate::contexts::PinnedContexts;

/// A processed active context (no vocabulary: IRIs and blank ids are owned strings).
type ActiveContext = ssi::json_ld::Context<IriBuf, BlankIdBuf>;

/// Distinct `@context` values kept processed; the key is chosen by whoever wrote the input,
/// so the cache is bounded (when full, new contexts are processed but not kept).
const MAX_CACHED_CONTEXTS: usize = 64;

pub const CRYPTOSUITE: &str = "eddsa-rdfc-2022";

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RdfcError {
    #[error("malformed secured document: {0}")]
    Malformed(String),
    #[error("JSON-LD context: {0}")]
    Context(String),
    #[error("JSON-LD expansion: {0}")]
    Expansion(String),
    #[error("RDF canonicalization: {0}")]
    Rdf(String),
    #[error("proofValue is not a base58btc (z…) encoded 64-byte signature")]
    ProofValue,
    #[error("the signature does not verify")]
    Signature,
}

/// The fields of a proof a verifier's policy looks at (the signed proof configuration).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProofInfo {
    pub verification_method: String,
    pub proof_purpose: String,
    pub created: Option<String>,
    pub expires: Option<String>,
    pub challenge: Option<String>,
    pub domain: Vec<String>,
    pub nonce: Option<String>,
}

/// What to put in a new proof besides the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofOptions {
    pub verification_method: String,
    pub proof_purpose: String,
    pub created: String,
    pub challenge: Option<String>,
    pub domain: Option<String>,
    pub nonce: Option<String>,
}

/// Signs and verifies `eddsa-rdfc-2022` proofs over pinned contexts. Share one per process
/// (it is `Sync`): its context cache is what makes it fast.
pub struct Rdfc2022 {
    contexts: PinnedContexts,
    cache: RwLock<HashMap<String, Arc<ActiveContext>>>,
}

impl Rdfc2022 {
    pub fn new(contexts: PinnedContexts) -> Self {
        Self {
            contexts,
            cache: RwLock::new(HashMap::new()),
        }
    }

    pub fn contexts(&self) -> &PinnedContexts {
        &self.contexts
    }

    /// Reads the single `eddsa-rdfc-2022` proof of `secured`.
    pub fn proof_info(secured: &Value) -> Result<ProofInfo, RdfcError> {
        let proof = single_proof(secured)?;
        let s = |k: &str| proof.get(k).and_then(Value::as_str).map(str::to_owned);
        let domain = match proof.get("domain") {
            None => vec![],
            Some(Value::String(d)) => vec![d.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|d| d.as_str().map(str::to_owned))
                .collect::<Option<_>>()
                .ok_or_else(|| malformed("proof domain must be strings"))?,
            Some(_) => return Err(malformed("proof domain must be a string or strings")),
        };
        Ok(ProofInfo {
            verification_method: s("verificationMethod")
                .ok_or_else(|| malformed("proof has no verificationMethod"))?,
            proof_purpose: s("proofPurpose")
                .ok_or_else(|| malformed("proof has no proofPurpose"))?,
            created: s("created"),
            expires: s("expires"),
            challenge: s("challenge"),
            domain,
            nonce: s("nonce"),
        })
    }

    /// Verifies the proof of `secured` with `key` (the key its `verificationMethod` names;
    /// which key that is, and whether it may sign for this purpose, is the caller's check).
    pub fn verify(&self, secured: &Value, key: &PublicKey) -> Result<(), RdfcError> {
        let proof = single_proof(secured)?;
        let signature = proof
            .get("proofValue")
            .and_then(Value::as_str)
            .and_then(|v| v.strip_prefix('z'))
            .and_then(|b58| bs58::decode(b58).into_vec().ok())
            .and_then(|bytes| Signature::from_slice(&bytes).ok())
            .ok_or(RdfcError::ProofValue)?;
        let hash = self.hash_data(secured)?;
        key.verify(&hash, &signature)
            .map_err(|_| RdfcError::Signature)
    }

    /// Adds an `eddsa-rdfc-2022` proof to `unsecured` (which must have no proof).
    pub fn sign(
        &self,
        unsecured: &Value,
        key: &SecretKey,
        options: &ProofOptions,
    ) -> Result<Value, RdfcError> {
        let Value::Object(doc) = unsecured else {
            return Err(malformed("the document is not a JSON object"));
        };
        if doc.contains_key("proof") {
            return Err(malformed("the document already has a proof"));
        }
        let mut proof = Map::new();
        proof.insert("type".into(), "DataIntegrityProof".into());
        proof.insert("cryptosuite".into(), CRYPTOSUITE.into());
        proof.insert("created".into(), options.created.clone().into());
        proof.insert(
            "verificationMethod".into(),
            options.verification_method.clone().into(),
        );
        proof.insert("proofPurpose".into(), options.proof_purpose.clone().into());
        for (k, v) in [
            ("challenge", &options.challenge),
            ("domain", &options.domain),
            ("nonce", &options.nonce),
        ] {
            if let Some(v) = v {
                proof.insert(k.into(), v.clone().into());
            }
        }
        let mut secured = doc.clone();
        secured.insert("proof".into(), Value::Object(proof));
        let mut secured = Value::Object(secured);
        let hash = self.hash_data(&secured)?;
        let signature = key.sign(&hash);
        let value = format!("z{}", bs58::encode(signature.to_bytes()).into_string());
        if let Some(Value::Object(p)) = secured.get_mut("proof") {
            p.insert("proofValue".into(), value.into());
        }
        Ok(secured)
    }

    /// SHA-256(canonical proof configuration) ‖ SHA-256(canonical document).
    pub fn hash_data(&self, secured: &Value) -> Result<[u8; 64], RdfcError> {
        let (config, document) = self.canonical_forms(secured)?;
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&sha256_lines(&config));
        out[32..].copy_from_slice(&sha256_lines(&document));
        Ok(out)
    }

    /// The canonical N-Quads lines of the proof configuration and of the document.
    pub fn canonical_forms(
        &self,
        secured: &Value,
    ) -> Result<(Vec<String>, Vec<String>), RdfcError> {
        let Value::Object(doc) = secured else {
            return Err(malformed("the document is not a JSON object"));
        };
        let proof = single_proof(secured)?;
        if proof.get("type").and_then(Value::as_str) != Some("DataIntegrityProof")
            || proof.get("cryptosuite").and_then(Value::as_str) != Some(CRYPTOSUITE)
        {
            return Err(malformed(
                "the proof is not an eddsa-rdfc-2022 DataIntegrityProof",
            ));
        }
        if proof.contains_key("@context") {
            return Err(malformed("a proof with its own @context is not accepted"));
        }
        let context = doc
            .get("@context")
            .ok_or_else(|| malformed("the document has no @context"))?;
        let active = self.active_context(context)?;
        let mut body = doc.clone();
        body.remove("@context");
        body.remove("proof");
        let mut config = proof.clone();
        config.remove("proofValue");
        let config_lines = self.canonical_lines(&active, &Value::Object(config))?;
        let doc_lines = self.canonical_lines(&active, &Value::Object(body))?;
        Ok((config_lines, doc_lines))
    }

    fn active_context(&self, context: &Value) -> Result<Arc<ActiveContext>, RdfcError> {
        let key = context.to_string();
        if let Some(c) = self.cache.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let json = to_ld_json(context)?;
        let local =
            LocalContext::try_from_json(json).map_err(|e| RdfcError::Context(e.to_string()))?;
        let processed = pollster::block_on(local.process_full(
            &mut (),
            &ActiveContext::default(),
            &self.contexts,
            None,
            ProcessingOptions::default(),
            (),
        ))
        .map_err(|e| RdfcError::Context(e.to_string()))?
        .into_processed();
        let processed = Arc::new(processed);
        if let Ok(mut m) = self.cache.write()
            && m.len() < MAX_CACHED_CONTEXTS
        {
            m.insert(key, processed.clone());
        }
        Ok(processed)
    }

    fn canonical_lines(
        &self,
        active: &ActiveContext,
        body: &Value,
    ) -> Result<Vec<String>, RdfcError> {
        let json = to_ld_json(body)?;
        // ssi's policy: invalid terms rejected, undefined terms rejected (never dropped
        // silently from what the signature covers).
        let options = ExpansionOptions {
            policy: Policy {
                invalid: Action::Reject,
                allow_undefined: false,
                vocab: Action::Keep,
            },
            ..Default::default()
        };
        let expanded: ExpandedDocument<IriBuf, BlankIdBuf> = pollster::block_on(json.expand_full(
            &mut (),
            active.clone(),
            None,
            &self.contexts,
            options,
            (),
        ))
        .map_err(|e| RdfcError::Expansion(e.to_string()))?;
        let mut env = LdEnvironment::default();
        env.canonical_form_of(&expanded)
            .map_err(|e| RdfcError::Rdf(e.to_string()))
    }
}

fn malformed(m: &str) -> RdfcError {
    RdfcError::Malformed(m.to_owned())
}

fn single_proof(secured: &Value) -> Result<&Map<String, Value>, RdfcError> {
    match secured.get("proof") {
        Some(Value::Object(p)) => Ok(p),
        Some(Value::Array(_)) => Err(malformed("proof sets and chains are not accepted")),
        Some(_) => Err(malformed("proof is not an object")),
        None => Err(malformed("the document has no proof")),
    }
}

/// Through text: correct whatever serde_json's number features are (with
/// `arbitrary_precision`, a direct serde conversion would turn numbers into objects).
fn to_ld_json(v: &Value) -> Result<LdJson, RdfcError> {
    use ssi::json_ld::syntax::Parse;
    let text = serde_json::to_string(v).map_err(|e| RdfcError::Malformed(e.to_string()))?;
    LdJson::parse_str(&text)
        .map(|(v, _)| v)
        .map_err(|e| RdfcError::Malformed(e.to_string()))
}

fn sha256_lines(lines: &[String]) -> [u8; 32] {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
    }
    h.finalize().into()
}
