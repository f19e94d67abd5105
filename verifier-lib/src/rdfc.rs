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
use crate::shapes::Templates;

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

/// See [`Rdfc2022::presentation_hashes`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresentationHashes {
    pub presentation: [u8; 64],
    /// By position in `verifiableCredential`.
    pub credentials: Vec<Option<[u8; 64]>>,
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

/// See [`Rdfc2022::template_stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TemplateStats {
    pub learned: usize,
    pub hits: u64,
}

/// Signs and verifies `eddsa-rdfc-2022` proofs over pinned contexts. Share one per process
/// (it is `Sync`): its context cache is what makes it fast.
pub struct Rdfc2022 {
    contexts: PinnedContexts,
    cache: RwLock<HashMap<String, Arc<Scope>>>,
    templates: Templates,
    use_templates: bool,
}

/// A processed top-level `@context`.
pub(crate) struct Scope {
    /// The `@context` value as JSON text: the cache key, and the templates' scope.
    key: String,
    pub(crate) active: ActiveContext,
    /// Contexts named by URL only (pinned): documents under them may use templates.
    by_url: bool,
}

impl Rdfc2022 {
    pub fn new(contexts: PinnedContexts) -> Self {
        let templates = Templates::new(contexts.all_keys());
        Self {
            contexts,
            cache: RwLock::new(HashMap::new()),
            templates,
            use_templates: true,
        }
    }

    /// Without expansion templates: every document expanded by json-ld (what the templates
    /// must equal; for tests and comparisons).
    pub fn without_templates(contexts: PinnedContexts) -> Self {
        Self {
            use_templates: false,
            ..Self::new(contexts)
        }
    }

    /// Expansion templates learned so far, and documents expanded from one (for metrics).
    pub fn template_stats(&self) -> TemplateStats {
        let (learned, hits) = self.templates.stats();
        TemplateStats { learned, hits }
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
        let signature = proof_signature(single_proof(secured)?)?;
        let hash = self.hash_data(secured)?;
        key.verify(&hash, &signature)
            .map_err(|_| RdfcError::Signature)
    }

    /// [`Self::verify`] with hash data already computed (by [`Self::presentation_hashes`]).
    pub fn verify_hash(
        &self,
        secured: &Value,
        key: &PublicKey,
        hash: &[u8; 64],
    ) -> Result<(), RdfcError> {
        let proof = single_proof(secured)?;
        check_proof_shape(proof)?;
        let signature = proof_signature(proof)?;
        key.verify(hash, &signature)
            .map_err(|_| RdfcError::Signature)
    }

    /// The hash data of a presentation's proof and, taken from the same JSON-LD expansion,
    /// of each embedded credential's own proof: a credential inside a presentation is
    /// expanded once, with its proof, for the presentation's dataset; its own document and
    /// proof configuration are subsets of those quads (the `proof` graph and its link; the
    /// quads of that graph without `proofValue`). `credentials[i]` is `None` where the
    /// shortcut does not apply (verify that credential on its own).
    pub fn presentation_hashes(&self, vp: &Value) -> Result<PresentationHashes, RdfcError> {
        let mut credentials = vec![];
        let (config, document) = self.forms_collecting(vp, true, Some(&mut credentials))?;
        let mut presentation = [0u8; 64];
        presentation[..32].copy_from_slice(&sha256_lines(&config));
        presentation[32..].copy_from_slice(&sha256_lines(&document));
        Ok(PresentationHashes {
            presentation,
            credentials,
        })
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
        self.forms_collecting(secured, true, None)
    }

    /// [`Self::canonical_forms`] without the presentation shortcut: every document expanded
    /// as one (what the shortcut must equal; for tests).
    pub fn canonical_forms_direct(
        &self,
        secured: &Value,
    ) -> Result<(Vec<String>, Vec<String>), RdfcError> {
        self.forms_collecting(secured, false, None)
    }

    /// `credential_hashes`: filled with each embedded credential's own hash data when the
    /// presentation shortcut applies (see [`Self::presentation_hashes`]).
    fn forms_collecting(
        &self,
        secured: &Value,
        shortcut: bool,
        credential_hashes: Option<&mut Vec<Option<[u8; 64]>>>,
    ) -> Result<(Vec<String>, Vec<String>), RdfcError> {
        let Value::Object(doc) = secured else {
            return Err(malformed("the document is not a JSON object"));
        };
        let proof = single_proof(secured)?;
        check_proof_shape(proof)?;
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
        let parts = if shortcut {
            self.presentation_lines(context, &body, credential_hashes)?
        } else {
            None
        };
        let doc_lines = match parts {
            Some(lines) => lines,
            None => self.canonical_lines(&active, &Value::Object(body))?,
        };
        Ok((config_lines, doc_lines))
    }

    /// The canonical lines of a presentation document built from parts: the presentation's
    /// own quads, and each embedded credential's quads (expanded with its own cached context)
    /// moved into the named graph the `verifiableCredential` graph container gives it. This is
    /// the dataset JSON-LD produces for the whole document, without re-processing each
    /// credential's `@context` inside the presentation's expansion. It applies only when the
    /// result is the same by construction: the presentation's contexts start with VC 2.0 (so
    /// `verifiableCredential` is the protected `@graph` container of
    /// `https://www.w3.org/2018/credentials#verifiableCredential`) and each credential is an
    /// object whose `@context` starts with the presentation's (so its active context is the
    /// same whether processed alone or nested). Otherwise `None`: expand the whole document.
    fn presentation_lines(
        &self,
        context: &Value,
        body: &Map<String, Value>,
        mut credential_hashes: Option<&mut Vec<Option<[u8; 64]>>>,
    ) -> Result<Option<Vec<String>>, RdfcError> {
        use rdf_types::{Id, LexicalQuad, Quad, Term};
        const VC_V2: &str = "https://www.w3.org/ns/credentials/v2";
        const VC_PREDICATE: &str = "https://www.w3.org/2018/credentials#verifiableCredential";
        const VP_TYPE: &str = "https://www.w3.org/2018/credentials#VerifiablePresentation";
        const RDF_TYPE: &str = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type";
        let vp_contexts: Vec<&Value> = match context {
            Value::Array(a) => a.iter().collect(),
            one => vec![one],
        };
        if vp_contexts.first().and_then(|c| c.as_str()) != Some(VC_V2) {
            return Ok(None);
        }
        let is_vp = match body.get("type") {
            Some(Value::String(t)) => t == "VerifiablePresentation",
            Some(Value::Array(a)) => a.iter().any(|t| t == "VerifiablePresentation"),
            _ => false,
        };
        let credentials: Vec<&Value> = match body.get("verifiableCredential") {
            Some(Value::Array(a)) => a.iter().collect(),
            Some(v @ Value::Object(_)) => vec![v],
            _ => return Ok(None),
        };
        if !is_vp || credentials.is_empty() {
            return Ok(None);
        }
        for c in &credentials {
            let ok = match c.get("@context") {
                Some(Value::Array(a)) => {
                    a.len() >= vp_contexts.len() && a.iter().zip(&vp_contexts).all(|(x, y)| x == *y)
                }
                Some(one) => vp_contexts.len() == 1 && one == vp_contexts[0],
                None => false,
            };
            if !ok || c.get("@graph").is_some() || c.get("@id").is_some() {
                return Ok(None);
            }
        }
        let blank = |prefix: &str, b: &rdf_types::BlankIdBuf| {
            rdf_types::BlankIdBuf::from_suffix(&format!("{prefix}{}", b.suffix()))
                .map_err(|_| RdfcError::Rdf("blank node label".into()))
        };
        let relabel_id = |prefix: &str, id: Id| -> Result<Id, RdfcError> {
            Ok(match id {
                Id::Blank(b) => Id::Blank(blank(prefix, &b)?),
                iri => iri,
            })
        };
        let relabel = |prefix: &str,
                       q: LexicalQuad,
                       default_graph: Option<Id>|
         -> Result<LexicalQuad, RdfcError> {
            let Quad(s, p, o, g) = q;
            let o = match o {
                Term::Id(id) => Term::Id(relabel_id(prefix, id)?),
                lit => lit,
            };
            let g = match g {
                Some(g) => Some(relabel_id(prefix, g)?),
                None => default_graph,
            };
            Ok(Quad(relabel_id(prefix, s)?, p, o, g))
        };
        let active = self.active_context(context)?;
        let mut vp_body = body.clone();
        vp_body.remove("verifiableCredential");
        let mut all: Vec<LexicalQuad> = vec![];
        for q in self.quads(&active, &Value::Object(vp_body))? {
            all.push(relabel("p", q, None)?);
        }
        let subject = all
            .iter()
            .find(|Quad(_, p, o, g)| {
                g.is_none()
                    && p.as_str() == RDF_TYPE
                    && matches!(o, Term::Id(Id::Iri(i)) if i.as_str() == VP_TYPE)
            })
            .map(|q| q.0.clone())
            .ok_or_else(|| RdfcError::Rdf("the presentation node was not found".into()))?;
        let predicate = rdf_types::IriBuf::new(VC_PREDICATE.to_owned())
            .map_err(|_| RdfcError::Rdf("predicate IRI".into()))?;
        for (i, c) in credentials.into_iter().enumerate() {
            let Value::Object(cred) = c else {
                return Ok(None);
            };
            let cred_context = cred
                .get("@context")
                .ok_or_else(|| malformed("a credential has no @context"))?;
            let active = self.active_context(cred_context)?;
            let mut cred_body = cred.clone();
            cred_body.remove("@context");
            let graph = Id::Blank(blank(
                &format!("g{i}x"),
                &rdf_types::BlankIdBuf::from_suffix("0")
                    .map_err(|_| RdfcError::Rdf("blank node label".into()))?,
            )?);
            all.push(Quad(
                subject.clone(),
                predicate.clone(),
                Term::Id(graph.clone()),
                None,
            ));
            let mut own = vec![];
            for q in self.quads(&active, &Value::Object(cred_body))? {
                own.push(relabel(&format!("c{i}x"), q, None)?);
            }
            if let Some(hashes) = credential_hashes.as_deref_mut() {
                // Only where the credential alone would be hashed too (one proof of our
                // suite): the split never yields hash data where verification would not.
                let own_proof_ok = single_proof(c).and_then(check_proof_shape).is_ok();
                hashes.push(if own_proof_ok && derivable(c) {
                    credential_hash_from_quads(&own)
                } else {
                    None
                });
            }
            for Quad(s, p, o, g) in own {
                all.push(Quad(s, p, o, Some(g.unwrap_or_else(|| graph.clone()))));
            }
        }
        canonical_nquads(&all).map(Some)
    }

    pub(crate) fn active_context(&self, context: &Value) -> Result<Arc<Scope>, RdfcError> {
        let key = context.to_string();
        if let Some(c) = self.cache.read().ok().and_then(|m| m.get(&key).cloned()) {
            return Ok(c);
        }
        let by_url = match context {
            Value::String(_) => true,
            Value::Array(a) => a.iter().all(Value::is_string),
            _ => false,
        };
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
        let processed = Arc::new(Scope {
            key: key.clone(),
            active: processed,
            by_url,
        });
        if let Ok(mut m) = self.cache.write()
            && m.len() < MAX_CACHED_CONTEXTS
        {
            m.insert(key, processed.clone());
        }
        Ok(processed)
    }

    /// The RDF quads of `body` (no `@context`) under `scope`: from an expansion template
    /// when one applies (see [`crate::shapes`]), otherwise expanded by json-ld.
    fn quads(&self, scope: &Scope, body: &Value) -> Result<Vec<rdf_types::LexicalQuad>, RdfcError> {
        if self.use_templates && scope.by_url {
            // What `to_ld_json` refuses is refused on the template path too.
            check_percent_encoding(body)?;
            self.templates
                .quads(&scope.key, body, |b| self.json_ld_quads(&scope.active, b))
        } else {
            self.json_ld_quads(&scope.active, body)
        }
    }

    /// The RDF quads of `body` (no `@context`) expanded by json-ld under `active`.
    fn json_ld_quads(
        &self,
        active: &ActiveContext,
        body: &Value,
    ) -> Result<Vec<rdf_types::LexicalQuad>, RdfcError> {
        let expanded = self.expand(active, body)?;
        guarded(|| LdEnvironment::default().quads_of(&expanded))?
            .map_err(|e| RdfcError::Rdf(e.to_string()))
    }

    pub(crate) fn expand(
        &self,
        active: &ActiveContext,
        body: &Value,
    ) -> Result<ExpandedDocument<IriBuf, BlankIdBuf>, RdfcError> {
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
        guarded(|| {
            pollster::block_on(json.expand_full(
                &mut (),
                active.clone(),
                None,
                &self.contexts,
                options,
                (),
            ))
        })?
        .map_err(|e| RdfcError::Expansion(e.to_string()))
    }

    fn canonical_lines(&self, scope: &Scope, body: &Value) -> Result<Vec<String>, RdfcError> {
        let quads = self.quads(scope, body)?;
        canonical_nquads(&quads)
    }
}

/// The canonical N-Quads lines of `quads` (RDFC-1.0): sorted, deduplicated, each ending in
/// `" .\n"`, as ssi's `urdna2015::normalize(…).into_nquads_lines()` gives them. Computed
/// directly when every blank node's first-degree hash is distinct, by ssi otherwise (ADR
/// 0017).
pub fn canonical_nquads(quads: &[rdf_types::LexicalQuad]) -> Result<Vec<String>, RdfcError> {
    match crate::canon::first_degree_lines(quads) {
        Some(lines) => Ok(lines),
        None => guarded(|| {
            ssi::rdf::urdna2015::normalize(quads.iter().map(|q| q.as_lexical_quad_ref()))
                .into_nquads_lines()
        }),
    }
}

fn malformed(m: &str) -> RdfcError {
    RdfcError::Malformed(m.to_owned())
}

/// What every proof we verify must be: one `eddsa-rdfc-2022` `DataIntegrityProof` with no
/// `@context` of its own.
fn check_proof_shape(proof: &Map<String, Value>) -> Result<(), RdfcError> {
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
    Ok(())
}

/// Whether a credential's own hash data may be taken from its quads: only when the JSON
/// cannot name blank nodes itself (no `_:` anywhere: explicit labels could collide with the
/// generated name of the proof graph and move quads between the document and the proof
/// configuration), uses no JSON-LD keyword but `@context` (no `@graph`, `@included`,
/// `@id`… that could nest graphs or nodes where the split does not expect them), and names
/// its contexts by URL only (an inline context could alias keywords). Anything else is
/// verified on its own, exactly as a bare credential. `credential_hash_from_quads` checks
/// the shape of the quads as well.
fn derivable(credential: &Value) -> bool {
    fn plain(v: &Value, top: bool) -> bool {
        match v {
            Value::String(s) => !s.contains("_:"),
            Value::Array(a) => a.iter().all(|x| plain(x, false)),
            Value::Object(o) => o.iter().all(|(k, x)| {
                if k == "@context" && top {
                    // Context URLs only: an inline context could alias keywords.
                    return match x {
                        Value::String(_) => true,
                        Value::Array(a) => a.iter().all(Value::is_string),
                        _ => false,
                    };
                }
                !k.starts_with('@') && !k.contains("_:") && plain(x, false)
            }),
            _ => true,
        }
    }
    plain(credential, true)
}

/// Runs third-party JSON-LD / RDF code on outside input: a panic inside it becomes a
/// rejection, never a crash of the integrator's process.
fn guarded<T>(f: impl FnOnce() -> T) -> Result<T, RdfcError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|_| RdfcError::Rdf("the JSON-LD/RDF processor failed on this input".into()))
}

fn proof_signature(proof: &Map<String, Value>) -> Result<Signature, RdfcError> {
    proof
        .get("proofValue")
        .and_then(Value::as_str)
        .and_then(|v| v.strip_prefix('z'))
        .and_then(|b58| bs58::decode(b58).into_vec().ok())
        .and_then(|bytes| Signature::from_slice(&bytes).ok())
        .ok_or(RdfcError::ProofValue)
}

/// The hash data of a credential's own proof from the quads of the credential expanded with
/// its proof: the document is every quad but the one `sec:proof` link and the quads of the
/// graph it names; the proof configuration is that graph's quads without `proofValue`, in
/// the default graph. `None` when the quads are not of that plain shape (one link to one
/// blank-node graph holding one `proofValue`, the graph's name used nowhere else).
fn credential_hash_from_quads(quads: &[rdf_types::LexicalQuad]) -> Option<[u8; 64]> {
    use rdf_types::{Id, Quad, Term};
    const PROOF: &str = "https://w3id.org/security#proof";
    const PROOF_VALUE: &str = "https://w3id.org/security#proofValue";
    let mut links = quads
        .iter()
        .enumerate()
        .filter(|(_, q)| q.3.is_none() && q.1.as_str() == PROOF);
    let (link_at, link) = links.next()?;
    if links.next().is_some() {
        return None;
    }
    let Term::Id(graph @ Id::Blank(_)) = &link.2 else {
        return None;
    };
    let names_graph =
        |q: &rdf_types::LexicalQuad| q.0 == *graph || matches!(&q.2, Term::Id(id) if id == graph);
    let (mut document, mut config, mut values) = (vec![], vec![], 0);
    let mut proof_node: Option<&Id> = None;
    for (i, q) in quads.iter().enumerate() {
        if i == link_at {
            continue;
        }
        if names_graph(q) {
            return None;
        }
        match &q.3 {
            Some(g) if g == graph => {
                // The proof graph holds one node (the proof, a blank node) whose values are
                // IRIs and literals: nothing nested, nothing else.
                if !matches!(q.0, Id::Blank(_)) || proof_node.is_some_and(|n| *n != q.0) {
                    return None;
                }
                if matches!(q.2, Term::Id(Id::Blank(_))) {
                    return None;
                }
                proof_node = Some(&q.0);
                if q.1.as_str() == PROOF_VALUE {
                    values += 1;
                } else {
                    config.push(Quad(q.0.clone(), q.1.clone(), q.2.clone(), None));
                }
            }
            // The credential itself is the default graph; another graph is not expected.
            Some(_) => return None,
            None => document.push(q.clone()),
        }
    }
    if values != 1 || config.is_empty() {
        return None;
    }
    let lines = |qs: &[rdf_types::LexicalQuad]| canonical_nquads(qs).ok();
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sha256_lines(&lines(&config)?));
    out[32..].copy_from_slice(&sha256_lines(&lines(&document)?));
    Some(out)
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
    check_percent_encoding(v)?;
    let text = serde_json::to_string(v).map_err(|e| RdfcError::Malformed(e.to_string()))?;
    LdJson::parse_str(&text)
        .map(|(v, _)| v)
        .map_err(|e| RdfcError::Malformed(e.to_string()))
}

/// json-ld hashes IRIs through `iref`/`pct-str`, which panic on a percent-encoded sequence
/// that does not decode to UTF-8 (`…#a%de`). Such input is refused before JSON-LD sees it
/// (found by fuzzing); any key or string value, since either may become an IRI.
fn check_percent_encoding(v: &Value) -> Result<(), RdfcError> {
    fn ok(s: &str) -> bool {
        let b = s.as_bytes();
        let hex = |c: u8| (c as char).to_digit(16);
        let mut i = 0;
        let mut run = Vec::new();
        while i < b.len() {
            let escaped = match (b[i], b.get(i + 1), b.get(i + 2)) {
                (b'%', Some(&h), Some(&l)) => hex(h).zip(hex(l)).map(|(h, l)| (h * 16 + l) as u8),
                _ => None,
            };
            match escaped {
                Some(byte) => {
                    run.push(byte);
                    i += 3;
                }
                None => {
                    if !run.is_empty() && std::str::from_utf8(&run).is_err() {
                        return false;
                    }
                    run.clear();
                    i += 1;
                }
            }
        }
        run.is_empty() || std::str::from_utf8(&run).is_ok()
    }
    fn walk(v: &Value) -> bool {
        match v {
            Value::String(s) => ok(s),
            Value::Array(a) => a.iter().all(walk),
            Value::Object(o) => o.iter().all(|(k, x)| ok(k) && walk(x)),
            _ => true,
        }
    }
    if walk(v) {
        Ok(())
    } else {
        Err(malformed(
            "a percent-encoded sequence does not decode to UTF-8 (not a valid IRI)",
        ))
    }
}

fn sha256_lines(lines: &[String]) -> [u8; 32] {
    let mut h = Sha256::new();
    for l in lines {
        h.update(l.as_bytes());
    }
    h.finalize().into()
}
