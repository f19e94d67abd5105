#![no_main]
//! Fuzz target `signed_operation`: see `checks::signed_operation` for what it asserts.

use libfuzzer_sys::fuzz_target;

#[path = "../checks.rs"]
mod checks;

fuzz_target!(|data: &[u8]| checks::signed_operation(data));
