#![no_main]
//! Fuzz target `genesis`: see `checks::genesis_json` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::genesis_json(data));
