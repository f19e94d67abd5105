//! RDF Dataset Canonicalization (RDFC-1.0, formerly URDNA2015) of the quads a verifier
//! meets, with ssi's implementation as the reference and the fallback.
//!
//! ssi's `normalize` writes each blank node's quads out again as N-Quads text, term by term,
//! for its first-degree hash, then once more for the output. In a presentation (its
//! credential, two proofs) that came to about a quarter of a check. Here every term is written
//! once and the lines are assembled from those pieces. Only the algorithm's first step runs
//! here: the first-degree hashes. When they are all distinct, the canonical labels follow
//! from their order alone. That is every dataset a credential or presentation of ours yields.
//! When two blank nodes share a first-degree hash, the whole dataset goes to ssi, whose
//! n-degree hashing is not repeated here.
//!
//! The output is exactly what `ssi::rdf::urdna2015::normalize(…).into_nquads_lines()` gives:
//! sorted, deduplicated lines, each ending in `" .\n"`. The terms are written by the same
//! `RdfDisplay` code ssi uses, so escaping cannot differ. The tests compare the two on
//! thousands of generated datasets.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use rdf_types::{Id, LexicalQuad, RdfDisplay, Term};
use sha2::{Digest, Sha256};

/// One position of a quad: a term written out, or a blank node to be labelled.
enum Part<'q> {
    Text(Rc<str>),
    Blank(&'q str),
}

/// IRIs written out recently on this thread. The same vocabulary IRIs (types, properties,
/// contexts' terms) come back in every credential, and `RdfDisplay` writes an IRI character
/// by character. Bounded: emptied when full.
const IRI_MEMO_CAPACITY: usize = 4096;

thread_local! {
    static IRI_MEMO: RefCell<HashMap<Box<str>, Rc<str>>> = RefCell::new(HashMap::new());
}

fn iri_text(iri: &rdf_types::Iri) -> Rc<str> {
    IRI_MEMO.with(|memo| {
        let mut memo = memo.borrow_mut();
        if let Some(t) = memo.get(iri.as_str()) {
            return t.clone();
        }
        let t: Rc<str> = Rc::from(iri.rdf_display().to_string());
        if memo.len() >= IRI_MEMO_CAPACITY {
            memo.clear();
        }
        memo.insert(Box::from(iri.as_str()), t.clone());
        t
    })
}

fn id_part(id: &Id) -> Part<'_> {
    match id {
        Id::Blank(b) => Part::Blank(b.as_str()),
        Id::Iri(i) => Part::Text(iri_text(i)),
    }
}

fn term_part(t: &Term) -> Part<'_> {
    match t {
        Term::Id(id) => id_part(id),
        Term::Literal(l) => Part::Text(Rc::from(l.rdf_display().to_string())),
    }
}

/// Writes one N-Quads line, blank nodes named by `label`.
fn write_line<'a>(parts: &[Part<'_>], label: impl Fn(&str) -> &'a str, out: &mut String) {
    out.reserve(
        parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.len() + 1,
                Part::Blank(_) => 12,
            })
            .sum::<usize>()
            + 3,
    );
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        match p {
            Part::Text(t) => out.push_str(t),
            Part::Blank(b) => out.push_str(label(b)),
        }
    }
    out.push_str(" .\n");
}

/// The canonical N-Quads lines of `quads`, or `None` when two blank nodes have the same
/// first-degree hash (the caller then asks ssi).
pub(crate) fn first_degree_lines(quads: &[LexicalQuad]) -> Option<Vec<String>> {
    let parts: Vec<Vec<Part<'_>>> = quads
        .iter()
        .map(|q| {
            let mut p = Vec::with_capacity(4);
            p.push(id_part(&q.0));
            p.push(Part::Text(iri_text(&q.1)));
            p.push(term_part(&q.2));
            if let Some(g) = &q.3 {
                p.push(id_part(g));
            }
            p
        })
        .collect();
    // Each blank node with the quads that mention it, once per mention (as the algorithm
    // counts them: a quad naming the node twice is hashed twice).
    let mut mentions: Vec<(&str, Vec<usize>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, p) in parts.iter().enumerate() {
        for part in p {
            if let Part::Blank(b) = part {
                let at = *index.entry(b).or_insert_with(|| {
                    mentions.push((b, Vec::new()));
                    mentions.len() - 1
                });
                if let Some((_, list)) = mentions.get_mut(at) {
                    list.push(i);
                }
            }
        }
    }
    // First-degree hashes: the node itself as `_:a`, every other blank node as `_:z`.
    let mut hashed: Vec<([u8; 32], &str)> = Vec::with_capacity(mentions.len());
    let mut lines: Vec<String> = Vec::new();
    for (node, list) in &mentions {
        lines.clear();
        for &i in list {
            let mut l = String::new();
            write_line(
                &parts[i],
                |b| if b == *node { "_:a" } else { "_:z" },
                &mut l,
            );
            lines.push(l);
        }
        lines.sort_unstable();
        let mut h = Sha256::new();
        for l in &lines {
            h.update(l.as_bytes());
        }
        hashed.push((h.finalize().into(), node));
    }
    // Hex digests order as their bytes do.
    hashed.sort_unstable();
    if hashed.windows(2).any(|w| w[0].0 == w[1].0) {
        return None;
    }
    let labels: HashMap<&str, String> = hashed
        .iter()
        .enumerate()
        .map(|(n, (_, node))| (*node, format!("_:c14n{n}")))
        .collect();
    let mut out: Vec<String> = parts
        .iter()
        .map(|p| {
            let mut l = String::new();
            write_line(
                p,
                |b| labels.get(b).map(String::as_str).unwrap_or(""),
                &mut l,
            );
            l
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rdf_types::{BlankIdBuf, IriBuf, Literal, LiteralType, Quad};

    fn ssi_lines(quads: &[LexicalQuad]) -> Vec<String> {
        ssi::rdf::urdna2015::normalize(quads.iter().map(|q| q.as_lexical_quad_ref()))
            .into_nquads_lines()
    }

    /// A small deterministic generator (no dependency needed for this).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) as usize) % n
        }
    }

    fn blank(n: usize) -> Id {
        Id::Blank(BlankIdBuf::from_suffix(&format!("b{n}")).unwrap())
    }

    fn iri(n: usize) -> IriBuf {
        IriBuf::new(format!("https://example.org/v#p{n}")).unwrap()
    }

    fn dataset(rng: &mut Lcg, blanks: usize) -> Vec<LexicalQuad> {
        let texts = [
            "plain",
            "with \"quotes\" and \\ backslash",
            "line\nbreak\rand\ttab",
            "unicode é 漢字 \u{1F600}",
            "",
            "\u{7}bell\u{1f}",
        ];
        let n = 1 + rng.next(12);
        (0..n)
            .map(|_| {
                let subject = if rng.next(3) > 0 {
                    blank(rng.next(blanks))
                } else {
                    Id::Iri(iri(rng.next(3)))
                };
                let object = match rng.next(4) {
                    0 => Term::Id(blank(rng.next(blanks))),
                    1 => Term::Id(Id::Iri(iri(rng.next(4)))),
                    2 => Term::Literal(Literal::new(
                        texts[rng.next(texts.len())].to_owned(),
                        LiteralType::Any(
                            IriBuf::new("http://www.w3.org/2001/XMLSchema#string".into()).unwrap(),
                        ),
                    )),
                    _ => Term::Literal(Literal::new(
                        texts[rng.next(texts.len())].to_owned(),
                        LiteralType::LangString("en-GB".parse().unwrap()),
                    )),
                };
                let graph = match rng.next(4) {
                    0 => Some(blank(rng.next(blanks))),
                    1 => Some(Id::Iri(iri(9))),
                    _ => None,
                };
                Quad(subject, iri(rng.next(4)), object, graph)
            })
            .collect()
    }

    #[test]
    fn gives_what_ssi_gives_or_hands_over_to_it() {
        let mut rng = Lcg(7);
        let (mut direct, mut handed_over) = (0, 0);
        for i in 0..4000 {
            let quads = dataset(&mut rng, 1 + i % 6);
            match first_degree_lines(&quads) {
                Some(lines) => {
                    assert_eq!(lines, ssi_lines(&quads), "{quads:#?}");
                    direct += 1;
                }
                None => handed_over += 1,
            }
        }
        // Both paths are exercised.
        assert!(direct > 3000 && handed_over > 0, "{direct} / {handed_over}");
    }

    #[test]
    fn symmetric_blank_nodes_are_handed_to_ssi() {
        // Two blank nodes with the same surroundings: only n-degree hashing can order them.
        let p = iri(0);
        let quads = vec![
            Quad(blank(0), p.clone(), Term::Id(blank(1)), None),
            Quad(blank(1), p, Term::Id(blank(0)), None),
        ];
        assert!(first_degree_lines(&quads).is_none());
    }

    #[test]
    fn no_blank_nodes_gives_the_sorted_deduplicated_lines() {
        let q = Quad(Id::Iri(iri(1)), iri(0), Term::Id(Id::Iri(iri(2))), None);
        let quads = vec![q.clone(), q];
        let lines = first_degree_lines(&quads).unwrap();
        assert_eq!(lines, ssi_lines(&quads));
        assert_eq!(lines.len(), 1);
    }
}
