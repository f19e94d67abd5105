#![no_main]
//! Fuzz target `block_decode`: see `checks::block_decode` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::block_decode(data));
