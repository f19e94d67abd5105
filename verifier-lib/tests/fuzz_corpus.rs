//! Replays the fuzz seed corpora (`fuzz/corpus/<target>/*`) and any crash files a fuzzing run
//! left (`fuzz/artifacts/<target>/*`) through the libFuzzer targets' invariant checks, on
//! stable Rust, without libFuzzer.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests and benches may panic on failure

use std::path::Path;

#[path = "../fuzz/checks.rs"]
mod checks;

#[test]
fn corpora_and_artifacts_pass_the_fuzz_invariants() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut n = 0;
    for (target, check) in checks::TARGETS {
        for dir in [
            fuzz.join("corpus").join(target),
            fuzz.join("artifacts").join(target),
        ] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries {
                let path = e.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                if std::panic::catch_unwind(|| check(&data)).is_err() {
                    panic!("{target}: {} breaks an invariant", path.display());
                }
                n += 1;
            }
        }
    }
    assert!(n >= 9, "the seed corpora are missing ({n} files)");
}
