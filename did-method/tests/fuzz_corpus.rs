//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/*`) and any crash files a fuzzing
//! run left (`fuzz/artifacts/<target>/**`) through the same invariant checks as the libFuzzer
//! targets, so that CI exercises them on stable Rust without libFuzzer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

#[path = "../fuzz/checks.rs"]
mod checks;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz")
}

/// Every file under `dir`, recursively, sorted.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                pending.push(path);
            } else {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn check_fn(target: &str) -> checks::Check {
    checks::TARGETS
        .iter()
        .find(|(name, _)| *name == target)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target named {target:?}"))
}

/// Runs `check` on every file, returning the failures (path and panic message).
fn replay(check: checks::Check, files: &[PathBuf]) -> Vec<String> {
    let mut failures = vec![];
    for path in files {
        let data = std::fs::read(path).unwrap();
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| check(&data))) {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{}: {msg}", path.display()));
        }
    }
    failures
}

#[test]
fn seed_corpora_pass_the_fuzz_checks() {
    let mut failures = vec![];
    for (target, check) in checks::TARGETS {
        let dir = fuzz_dir().join("corpus").join(target);
        let files = files_under(&dir);
        assert!(!files.is_empty(), "{} has no seed inputs", dir.display());
        failures.extend(replay(*check, &files));
    }
    assert!(
        failures.is_empty(),
        "invariants broken:\n{}",
        failures.join("\n")
    );
}

#[test]
fn fuzz_artifacts_if_any_pass_the_fuzz_checks() {
    let dir = fuzz_dir().join("artifacts");
    if !dir.is_dir() {
        return;
    }
    let mut failures = vec![];
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_dir() {
            continue;
        }
        let target = path.file_name().unwrap().to_string_lossy().into_owned();
        failures.extend(replay(check_fn(&target), &files_under(&path)));
    }
    assert!(
        failures.is_empty(),
        "invariants broken:\n{}",
        failures.join("\n")
    );
}

#[test]
fn oversized_operation_is_refused_before_parsing() {
    // Too big for a seed file: a valid-looking operation padded past the limit.
    let mut data = b"{\"operation\":{}, \"signatures\":[]}".to_vec();
    data.resize(did_method::operation::MAX_OPERATION_BYTES + 1, b' ');
    checks::signed_operation(&data);
}

#[test]
fn every_target_has_a_fuzz_target_file() {
    for (target, _) in checks::TARGETS {
        let path = fuzz_dir().join("fuzz_targets").join(format!("{target}.rs"));
        assert!(path.is_file(), "{} is missing", path.display());
    }
}

/// The binary seed blocks are real encodings (so the fuzzer starts inside the format), equal
/// to their JSON twins.
#[test]
fn binary_seed_blocks_decode_to_their_json_twins() {
    let dir = fuzz_dir().join("corpus/block_decode");
    for name in ["block_h1", "block_h2_empty"] {
        let bin = std::fs::read(dir.join(format!("{name}.bin"))).unwrap();
        let json = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
        let a = did_method::Block::decode(&bin).unwrap();
        let b = did_method::Block::decode(&json).unwrap();
        assert_eq!(a, b, "{name}");
        assert_eq!(
            a.encode(),
            bin,
            "{name}: the seed is not the canonical encoding"
        );
    }
}
