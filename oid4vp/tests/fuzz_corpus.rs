//! Replays the `request` and `response` fuzz targets' corpora (and any crash artifacts)
//! through their invariants on stable Rust, so every input fuzzing kept stays a test.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic on failure

#[path = "../fuzz/checks.rs"]
mod checks;

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for dir in [
        root.join("corpus").join(target),
        root.join("artifacts").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            check(&std::fs::read(e.path()).unwrap());
            n += 1;
        }
    }
    n
}

#[test]
fn the_request_and_response_corpora_keep_their_invariants() {
    assert!(
        replay("request", checks::request) >= 2,
        "the request seeds are missing"
    );
    assert!(
        replay("response", checks::response) >= 1,
        "the response seeds are missing"
    );
    assert!(
        replay("encrypted_response", checks::encrypted_response) >= 2,
        "the encrypted response seeds are missing"
    );
}
