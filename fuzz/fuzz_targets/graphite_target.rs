//! Fuzzes the Graphite target grammar (`/render?target=`): any UTF-8 input must give an
//! expression or an error, never a panic or unbounded recursion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = telltale::query::graphite::parser::parse(s);
    }
});
