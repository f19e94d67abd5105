//! Replays the `query` fuzz target's corpus (and any crash artifacts) through its invariants
//! on stable Rust, so every input fuzzing kept stays a regression test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

#[path = "../fuzz/checks.rs"]
mod checks;

#[test]
fn the_query_corpus_keeps_its_invariants() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in [root.join("corpus/query"), root.join("artifacts/query")] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            checks::query(&std::fs::read(e.path()).unwrap());
            n += 1;
        }
    }
    assert!(n >= 4, "the seed corpus is missing ({n} inputs)");
}
