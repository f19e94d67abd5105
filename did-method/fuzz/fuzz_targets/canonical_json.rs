#![no_main]
//! Fuzz target `canonical_json`: see `checks::canonical_json` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::canonical_json(data));
