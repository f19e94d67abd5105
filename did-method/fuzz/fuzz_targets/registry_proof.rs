#![no_main]
//! Fuzz target `registry_proof`: see `checks::registry_proof` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::registry_proof(data));
