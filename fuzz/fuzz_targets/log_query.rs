//! Fuzzes the log query parser: any UTF-8 input must give an AST or an error, never a panic,
//! and never unbounded recursion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = telltale::query::logs::parse(s);
    }
});
