//! Expansion templates: the RDF quads JSON-LD expansion gave for one document *shape*,
//! replayed for the next document of the same shape with its own values.
//!
//! An issuer's credentials, a wallet's presentations and their proof configurations repeat
//! one shape (the same keys, types and nesting) with different values (names, dates, DIDs,
//! challenges). JSON-LD expansion of such a document spends nearly all its time on the
//! contexts (processing type-scoped contexts, copying the active context), which are the
//! same every time. A template is learned from json-ld itself, never written by hand:
//!
//! 1. The document is read into a *shape key*: its structure (keys, nesting, array lengths,
//!    numbers, booleans and nulls verbatim) with every string value replaced by a slot. Two
//!    strings share a slot exactly when they are equal, so the key carries the equality
//!    pattern of the values. A slot has a class: `Iri` when the string is an absolute IRI
//!    whose scheme and whole text are no term of any pinned context (JSON-LD's IRI expansion
//!    returns such a string unchanged wherever it stands: as an `@id`, a `@vocab` value or a
//!    type), `Text` otherwise. The class is part of the key.
//! 2. json-ld expands a copy of the document whose slots hold placeholders of their class.
//!    A slot is *substitutable* when its placeholder comes out only as a whole IRI (`Iri`
//!    class) or a whole literal value (either class): json-ld passed it through without
//!    looking at it. Any other slot (a type term, a proof purpose, a value under `@json`,
//!    one that vanished) is *fixed*: its real value goes into the copy and is part of what
//!    the template matches. This repeats until no slot changes (each round fixes one or
//!    more slots, so it ends).
//! 3. The first document's own quads (from json-ld, as for any miss) are compared with the
//!    template's instantiation for it, canonicalized; a template that differs is not kept.
//!
//! A later document uses a template only when its shape key and every fixed value are
//! equal, and when none of its substituted values equals a constant string of the template
//! (so no two quads can merge that json-ld would have kept apart, or the reverse). Anything
//! else (a nested `@context`, a key that is a JSON-LD keyword, a marker string, an error) is
//! expanded by json-ld, exactly as without templates. The differential tests check both
//! paths give the same canonical form on the W3C vectors and on documents built to probe
//! each rule.
//!
//! This is a cache: bounded in shapes and templates per shape, since its keys come from
//! outside input. When the shapes are full it starts again; a shape whose templates are full
//! is expanded by json-ld without being learned.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use rdf_types::{BlankIdBuf, Id, IriBuf, LexicalQuad, Literal, LiteralType, Quad, Term};
use serde_json::Value;

/// Distinct shapes kept.
const MAX_SHAPES: usize = 256;
/// Templates kept per shape (one per distinct set of fixed values).
const MAX_TEMPLATES_PER_SHAPE: usize = 8;
/// Documents with more distinct string values than this are not templated (a credential
/// has a few dozen; the bound keeps the linear slot lookup cheap).
const MAX_SLOTS: usize = 256;

/// The placeholder of an `Iri` slot: an absolute IRI whose scheme is no pinned term.
const IRI_MARK: &str = "urn:x-alliance-slot:";
/// The placeholder of a `Text` slot: a plain word (no colon), no pinned term.
const TEXT_MARK: &str = "xallianceslot";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Class {
    Iri,
    Text,
}

/// A document read for lookup: its shape key and the values of its slots.
struct Reading<'a> {
    key: Vec<u8>,
    /// By slot: the value, and its IRI when the class is `Iri`.
    slots: Vec<(&'a str, Option<IriBuf>)>,
}

/// An IRI of a template quad.
#[derive(Clone, Debug)]
enum TIri {
    Const(IriBuf),
    Slot(usize),
}

/// A literal value of a template quad.
#[derive(Clone, Debug)]
enum TText {
    Const(String),
    Slot(usize),
}

#[derive(Clone, Debug)]
enum TId {
    Iri(TIri),
    Blank(BlankIdBuf),
}

#[derive(Clone, Debug)]
enum TObject {
    Id(TId),
    Literal(TText, LiteralType),
}

#[derive(Clone, Debug)]
struct TQuad(TId, IriBuf, TObject, Option<TId>);

#[derive(Debug)]
struct Template {
    /// Slots whose real value the template was built with, and must match.
    fixed: Vec<(usize, String)>,
    quads: Vec<TQuad>,
    /// Every constant IRI and literal value of the quads.
    constants: HashSet<String>,
}

#[derive(Default)]
struct Shape {
    templates: Vec<Arc<Template>>,
    /// Fixed-value sets for which no template could be built (bounded like `templates`).
    failed: Vec<Vec<(usize, String)>>,
}

/// The template cache. Share one per [`crate::rdfc::Rdfc2022`].
pub(crate) struct Templates {
    /// Every key of every pinned context document, at any depth: a superset of the terms
    /// any active context built from them can define.
    terms: HashSet<String>,
    /// False when a pinned context defines a term that a placeholder could be read as.
    enabled: bool,
    shapes: RwLock<HashMap<Vec<u8>, Shape>>,
    hits: AtomicU64,
}

impl Templates {
    /// `terms`: see [`crate::contexts::PinnedContexts::all_keys`]; `None` disables templates.
    pub(crate) fn new(terms: Option<HashSet<String>>) -> Self {
        let enabled = terms.as_ref().is_some_and(|terms| {
            !terms
                .iter()
                .any(|t| t == "urn" || t.contains(TEXT_MARK) || t.contains(IRI_MARK))
        });
        let terms = terms.unwrap_or_default();
        Self {
            terms,
            enabled,
            shapes: RwLock::new(HashMap::new()),
            hits: AtomicU64::new(0),
        }
    }

    /// The quads of `body` expanded under the active context named by `scope` (the
    /// document's `@context`, as text): from a template when one applies, otherwise from
    /// `expand` (json-ld), learning a template from the result.
    pub(crate) fn quads<E>(
        &self,
        scope: &str,
        body: &Value,
        expand: impl Fn(&Value) -> Result<Vec<LexicalQuad>, E>,
    ) -> Result<Vec<LexicalQuad>, E> {
        if !self.enabled {
            return expand(body);
        }
        let Some(reading) = Reading::of(scope, body, &self.terms) else {
            return expand(body);
        };
        let mut known_failure = false;
        if let Ok(shapes) = self.shapes.read()
            && let Some(shape) = shapes.get(&reading.key)
        {
            for t in &shape.templates {
                if t.matches(&reading) {
                    match t.instantiate(&reading) {
                        Some(quads) => {
                            self.hits.fetch_add(1, Ordering::Relaxed);
                            return Ok(quads);
                        }
                        None => return expand(body),
                    }
                }
            }
            known_failure = shape
                .failed
                .iter()
                .any(|f| f.iter().all(|(i, v)| reading.slots[*i].0 == v));
        }
        let real = expand(body)?;
        if !known_failure {
            self.learn(&reading, body, &expand, &real);
        }
        Ok(real)
    }

    fn learn<E>(
        &self,
        reading: &Reading<'_>,
        body: &Value,
        expand: &impl Fn(&Value) -> Result<Vec<LexicalQuad>, E>,
        real: &[LexicalQuad],
    ) {
        let Ok(shapes) = self.shapes.read() else {
            return;
        };
        let room = shapes
            .get(&reading.key)
            .is_none_or(|s| s.templates.len() + s.failed.len() < MAX_TEMPLATES_PER_SHAPE);
        drop(shapes);
        if !room {
            return;
        }
        let built = build(reading, body, expand, real);
        let Ok(mut shapes) = self.shapes.write() else {
            return;
        };
        if !shapes.contains_key(&reading.key) && shapes.len() >= MAX_SHAPES {
            // Full: start again (as the verifier's other caches do), so that shapes sent to
            // fill it cannot keep the shapes seen every day out for good.
            shapes.clear();
        }
        let shape = shapes.entry(reading.key.clone()).or_default();
        if shape.templates.len() + shape.failed.len() >= MAX_TEMPLATES_PER_SHAPE {
            return;
        }
        match built {
            Ok(t) => {
                if !shape.templates.iter().any(|o| o.fixed == t.fixed) {
                    shape.templates.push(Arc::new(t));
                }
            }
            Err(fixed) => {
                tracing::debug!("no expansion template for this document shape");
                shape.failed.push(fixed);
            }
        }
    }

    /// Templates learned, and documents expanded from one.
    pub(crate) fn stats(&self) -> (usize, u64) {
        let learned = self
            .shapes
            .read()
            .map(|s| s.values().map(|x| x.templates.len()).sum())
            .unwrap_or(0);
        (learned, self.hits.load(Ordering::Relaxed))
    }
}

impl<'a> Reading<'a> {
    /// `None` when the document is not one templates handle (a key that is a JSON-LD
    /// keyword, such as a nested `@context`; too many strings).
    fn of(scope: &str, body: &'a Value, terms: &HashSet<String>) -> Option<Self> {
        let mut r = Reading {
            key: Vec::with_capacity(512),
            slots: Vec::new(),
        };
        put_str(&mut r.key, scope);
        r.walk(body, terms)?;
        Some(r)
    }

    fn walk(&mut self, v: &'a Value, terms: &HashSet<String>) -> Option<()> {
        match v {
            Value::Null => self.key.push(b'n'),
            Value::Bool(b) => self.key.push(if *b { b't' } else { b'f' }),
            Value::Number(n) => {
                self.key.push(b'#');
                put_str(&mut self.key, &n.to_string());
            }
            Value::String(s) => {
                let slot = match self.slots.iter().position(|(x, _)| *x == s.as_str()) {
                    Some(i) => i,
                    None => {
                        if self.slots.len() >= MAX_SLOTS {
                            return None;
                        }
                        self.slots.push((s.as_str(), iri_class(s, terms)));
                        self.slots.len() - 1
                    }
                };
                self.key.push(if self.slots[slot].1.is_some() {
                    b'i'
                } else {
                    b's'
                });
                self.key.extend_from_slice(&(slot as u32).to_le_bytes());
            }
            Value::Array(a) => {
                self.key.push(b'[');
                for x in a {
                    self.walk(x, terms)?;
                }
                self.key.push(b']');
            }
            Value::Object(o) => {
                self.key.push(b'{');
                for (k, x) in o {
                    if k.starts_with('@') {
                        return None;
                    }
                    put_str(&mut self.key, k);
                    self.walk(x, terms)?;
                }
                self.key.push(b'}');
            }
        }
        Some(())
    }
}

fn put_str(key: &mut Vec<u8>, s: &str) {
    key.extend_from_slice(&(s.len() as u32).to_le_bytes());
    key.extend_from_slice(s.as_bytes());
}

/// `Some(iri)` when `s` is an absolute IRI that JSON-LD's IRI expansion returns unchanged
/// under any active context built from the pinned contexts: not a keyword form, not a
/// blank node identifier, not a term, and its prefix (before the first colon) not a term
/// either, so it cannot be read as a compact IRI.
fn iri_class(s: &str, terms: &HashSet<String>) -> Option<IriBuf> {
    let colon = s.find(':')?;
    if colon == 0 || s.starts_with('@') || s.starts_with("_:") {
        return None;
    }
    if terms.contains(&s[..colon]) || terms.contains(s) {
        return None;
    }
    IriBuf::new(s.to_owned()).ok()
}

impl Template {
    fn matches(&self, r: &Reading<'_>) -> bool {
        self.fixed
            .iter()
            .all(|(i, v)| r.slots.get(*i).is_some_and(|(x, _)| *x == v))
    }

    /// The document's quads; `None` when a substituted value equals a constant of the
    /// template (then json-ld decides).
    fn instantiate(&self, r: &Reading<'_>) -> Option<Vec<LexicalQuad>> {
        for (i, (v, _)) in r.slots.iter().enumerate() {
            if !self.fixed.iter().any(|(f, _)| *f == i) && self.constants.contains(*v) {
                return None;
            }
        }
        let iri = |p: &TIri| -> Option<IriBuf> {
            match p {
                TIri::Const(i) => Some(i.clone()),
                TIri::Slot(i) => r.slots.get(*i)?.1.clone(),
            }
        };
        let id = |t: &TId| -> Option<Id> {
            Some(match t {
                TId::Iri(p) => Id::Iri(iri(p)?),
                TId::Blank(b) => Id::Blank(b.clone()),
            })
        };
        let mut out = Vec::with_capacity(self.quads.len());
        for TQuad(s, p, o, g) in &self.quads {
            let o = match o {
                TObject::Id(t) => Term::Id(id(t)?),
                TObject::Literal(v, ty) => {
                    let value = match v {
                        TText::Const(s) => s.clone(),
                        TText::Slot(i) => r.slots.get(*i)?.0.to_owned(),
                    };
                    Term::Literal(Literal::new(value, ty.clone()))
                }
            };
            let g = match g {
                Some(g) => Some(id(g)?),
                None => None,
            };
            out.push(Quad(id(s)?, p.clone(), o, g));
        }
        Some(out)
    }
}

/// Learns a template for `reading` (see the module documentation). `Err` carries the fixed
/// values for which none could be built.
fn build<E>(
    r: &Reading<'_>,
    body: &Value,
    expand: &impl Fn(&Value) -> Result<Vec<LexicalQuad>, E>,
    real: &[LexicalQuad],
) -> Result<Template, Vec<(usize, String)>> {
    let mut fixed: BTreeSet<usize> = BTreeSet::new();
    let values = |fixed: &BTreeSet<usize>| -> Vec<(usize, String)> {
        fixed
            .iter()
            .map(|i| (*i, r.slots[*i].0.to_owned()))
            .collect()
    };
    // A real value containing a mark could be mistaken for a placeholder.
    if r.slots
        .iter()
        .any(|(v, _)| v.contains(IRI_MARK) || v.contains(TEXT_MARK))
    {
        return Err(values(&(0..r.slots.len()).collect()));
    }
    let mut tried_all_text = false;
    for _ in 0..=r.slots.len() + 1 {
        let skeleton = placeholders(body, r, &fixed);
        let quads = match expand(&skeleton) {
            Ok(q) => q,
            Err(_) if !tried_all_text => {
                // A placeholder where json-ld wants an IRI or a term: fix every `Text` slot
                // and try once more.
                tried_all_text = true;
                fixed.extend((0..r.slots.len()).filter(|i| r.slots[*i].1.is_none()));
                continue;
            }
            Err(_) => return Err(values(&fixed)),
        };
        let mut scan = Scan {
            r,
            fixed: &fixed,
            newly_fixed: BTreeSet::new(),
            used: vec![false; r.slots.len()],
            constants: HashSet::new(),
        };
        let mut template_quads = Vec::with_capacity(quads.len());
        for Quad(s, p, o, g) in &quads {
            let s = scan.id(s);
            // A predicate comes from a key, never from a value: a placeholder there means
            // the slot is not a plain value.
            scan.constant(p.as_str());
            let o = match o {
                Term::Id(id) => TObject::Id(scan.id(id)),
                Term::Literal(l) => {
                    match &l.type_ {
                        LiteralType::Any(t) => {
                            scan.forbid(t.as_str());
                        }
                        LiteralType::LangString(t) => {
                            scan.forbid(t.as_str());
                        }
                    }
                    TObject::Literal(scan.literal(&l.value), l.type_.clone())
                }
            };
            let g = g.as_ref().map(|g| scan.id(g));
            template_quads.push(TQuad(s, p.clone(), o, g));
        }
        for (i, used) in scan.used.iter().enumerate() {
            if !used && !fixed.contains(&i) {
                scan.newly_fixed.insert(i);
            }
        }
        if scan.newly_fixed.is_empty() {
            let template = Template {
                fixed: values(&fixed),
                quads: template_quads,
                constants: scan.constants,
            };
            // The template must give what json-ld gave for the document it learned from.
            let mine = template.instantiate(r).ok_or_else(|| values(&fixed))?;
            return if canonical(&mine) == canonical(real) {
                Ok(template)
            } else {
                tracing::warn!("an expansion template disagreed with json-ld; not kept");
                Err(values(&fixed))
            };
        }
        fixed.extend(scan.newly_fixed);
    }
    Err(values(&fixed))
}

fn canonical(quads: &[LexicalQuad]) -> Option<Vec<String>> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ssi::rdf::urdna2015::normalize(quads.iter().map(|q| q.as_lexical_quad_ref()))
            .into_nquads_lines()
    }))
    .ok()
}

/// `body` with every non-fixed slot's strings replaced by the slot's placeholder (slots as
/// `r` numbered them).
fn placeholders(v: &Value, r: &Reading<'_>, fixed: &BTreeSet<usize>) -> Value {
    match v {
        Value::String(s) => match r.slots.iter().position(|(x, _)| *x == s.as_str()) {
            Some(slot) if !fixed.contains(&slot) => Value::String(if r.slots[slot].1.is_some() {
                format!("{IRI_MARK}{slot}")
            } else {
                format!("{TEXT_MARK}{slot}")
            }),
            _ => v.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|x| placeholders(x, r, fixed)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, x)| (k.clone(), placeholders(x, r, fixed)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Reading placeholders back out of json-ld's quads.
struct Scan<'r, 'a> {
    r: &'r Reading<'a>,
    fixed: &'r BTreeSet<usize>,
    newly_fixed: BTreeSet<usize>,
    used: Vec<bool>,
    constants: HashSet<String>,
}

impl Scan<'_, '_> {
    /// The slot `s` is the placeholder of, if it is exactly one of `class`.
    fn exact(&self, s: &str, class: Class) -> Option<usize> {
        let digits = match class {
            Class::Iri => s.strip_prefix(IRI_MARK)?,
            Class::Text => s.strip_prefix(TEXT_MARK)?,
        };
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let i: usize = digits.parse().ok()?;
        let slot = self.r.slots.get(i)?;
        let slot_class = if slot.1.is_some() {
            Class::Iri
        } else {
            Class::Text
        };
        (slot_class == class && !self.fixed.contains(&i)).then_some(i)
    }

    /// Marks fixed every slot whose placeholder occurs inside `s`.
    fn forbid(&mut self, s: &str) {
        for mark in [IRI_MARK, TEXT_MARK] {
            for (at, _) in s.match_indices(mark) {
                let digits: String = s[at + mark.len()..]
                    .chars()
                    .take_while(char::is_ascii_digit)
                    .collect();
                match digits.parse::<usize>() {
                    Ok(i) if i < self.r.slots.len() => {
                        self.newly_fixed.insert(i);
                    }
                    // A mark with no slot after it: fix everything, the template cannot
                    // tell what json-ld did.
                    _ => self.newly_fixed.extend(0..self.r.slots.len()),
                }
            }
        }
    }

    fn constant(&mut self, s: &str) {
        self.forbid(s);
        self.constants.insert(s.to_owned());
    }

    fn iri(&mut self, iri: &IriBuf) -> TIri {
        if let Some(i) = self.exact(iri.as_str(), Class::Iri) {
            self.used[i] = true;
            return TIri::Slot(i);
        }
        self.constant(iri.as_str());
        TIri::Const(iri.clone())
    }

    fn literal(&mut self, s: &str) -> TText {
        if let Some(i) = self
            .exact(s, Class::Iri)
            .or_else(|| self.exact(s, Class::Text))
        {
            self.used[i] = true;
            return TText::Slot(i);
        }
        self.constant(s);
        TText::Const(s.to_owned())
    }

    fn id(&mut self, id: &Id) -> TId {
        match id {
            Id::Iri(i) => TId::Iri(self.iri(i)),
            Id::Blank(b) => {
                self.forbid(b.as_str());
                TId::Blank(b.clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A stand-in for json-ld: each top-level string becomes a literal of a predicate named
    /// by its key (enough to exercise the cache's bookkeeping).
    fn expand(body: &Value) -> Result<Vec<LexicalQuad>, ()> {
        let iri = |s: String| IriBuf::new(s).map_err(|_| ());
        let mut out = vec![];
        for (k, v) in body.as_object().ok_or(())? {
            let v = v.as_str().ok_or(())?;
            out.push(Quad(
                Id::Iri(iri("urn:s".into())?),
                iri(format!("urn:p:{k}"))?,
                Term::Literal(Literal::new(
                    v.to_owned(),
                    LiteralType::Any(iri("http://www.w3.org/2001/XMLSchema#string".into())?),
                )),
                None,
            ));
        }
        Ok(out)
    }

    #[test]
    fn a_shape_seen_again_is_replayed_with_its_own_values() {
        let t = Templates::new(Some(HashSet::new()));
        let first = json!({"name": "Ada", "id": "did:example:1"});
        assert_eq!(t.quads("ctx", &first, expand), expand(&first));
        assert_eq!(t.stats(), (1, 0));
        let second = json!({"name": "Grace", "id": "did:example:2"});
        assert_eq!(t.quads("ctx", &second, expand), expand(&second));
        assert_eq!(t.stats(), (1, 1));
        // Another scope is another shape.
        assert_eq!(t.quads("other", &second, expand), expand(&second));
        assert_eq!(t.stats(), (2, 1));
    }

    #[test]
    fn a_full_cache_starts_again_and_keeps_learning() {
        let t = Templates::new(Some(HashSet::new()));
        for i in 0..MAX_SHAPES + 10 {
            let junk = json!({ format!("k{i}"): "v" });
            assert_eq!(t.quads("ctx", &junk, expand), expand(&junk));
        }
        assert!(t.stats().0 <= MAX_SHAPES);
        let doc = json!({"name": "Ada"});
        t.quads("ctx", &doc, expand).unwrap();
        let hits = t.stats().1;
        let next = json!({"name": "Grace"});
        assert_eq!(t.quads("ctx", &next, expand), expand(&next));
        assert_eq!(t.stats().1, hits + 1);
    }

    #[test]
    fn templates_are_off_when_a_pinned_term_could_be_read_as_a_placeholder() {
        let t = Templates::new(Some(HashSet::from(["urn".to_owned()])));
        let doc = json!({"name": "Ada"});
        for _ in 0..2 {
            assert_eq!(t.quads("ctx", &doc, expand), expand(&doc));
        }
        assert_eq!(t.stats(), (0, 0));
        let none = Templates::new(None);
        assert_eq!(none.quads("ctx", &doc, expand), expand(&doc));
        assert_eq!(none.stats(), (0, 0));
    }
}
