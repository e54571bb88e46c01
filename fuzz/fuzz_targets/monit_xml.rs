//! Any body a client posts to /collector must parse or be refused without panicking, plain or
//! as gzip, and whatever parses must convert.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::ingest::monit::{convert, xml};

fuzz_target!(|data: &[u8]| {
    for gzip in [false, true] {
        if let Ok(report) = xml::parse(data, gzip) {
            assert!(!report.id.is_empty());
            let points = convert::metrics(&report, 0);
            assert!(points.iter().all(|p| p.value.is_finite()));
            let _ = convert::event_record(&report, 0);
        }
    }
});
