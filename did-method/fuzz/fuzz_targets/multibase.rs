#![no_main]
//! Fuzz target `multibase`: see `checks::multibase` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::multibase(data));
