//! A stored document read in place by sealing (`store::logs::stored::DocView`): the doc store
//! is on disk, so any bytes must be read or refused without panicking.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = telltale::store::logs::fuzz_doc_view(data, 20_781);
});
