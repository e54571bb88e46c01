//! Fuzzes `POST /events/` bodies and django-tagging's tag parsing: any bytes give an event or
//! an error, never a panic; parsed tags are sorted, distinct, trimmed and non-empty.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::store::events::{parse_post, parse_tag_input};

fuzz_target!(|data: &[u8]| {
    if let Ok(e) = parse_post(data, 1_700_000_000) {
        let tags = parse_tag_input(&e.tags);
        assert!(tags.windows(2).all(|w| w[0] < w[1]));
        assert!(tags.iter().all(|t| !t.is_empty() && t.trim() == t));
    }
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = parse_tag_input(s);
    }
});
