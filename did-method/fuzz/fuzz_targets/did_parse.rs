#![no_main]
//! Fuzz target `did_parse`: see `checks::did_parse` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::did_parse(data));
