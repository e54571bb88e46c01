//! Any bytes a peer sends must parse without panicking and keep the frame byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::ingest::syslog::parse;
use telltale::model::{RawMessage, Transport};

fuzz_target!(|data: &[u8]| {
    let msg = RawMessage {
        received_ns: 1_795_564_800_000_000_000,
        peer: None,
        transport: Transport::Tcp,
        bytes: data.to_vec(),
        truncated: false,
    };
    let rec = parse(&msg);
    assert_eq!(rec.raw, data);
    assert!(rec.severity.is_some_and(|s| s < 8));
    assert!(rec.facility.is_some_and(|f| f < 24));
});
