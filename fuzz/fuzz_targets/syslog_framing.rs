//! The frame decoder must never panic, never return a frame over the maximum, and give the same
//! frames however a read splits the stream (here: two chunks at a fuzz-chosen point).
#![no_main]

use libfuzzer_sys::fuzz_target;
use telltale::ingest::syslog::framing::decode_chunks;
use telltale::ingest::syslog::{Frame, FramingError};

const MAX: usize = 64;

fn decode(chunks: &[&[u8]]) -> (Vec<Frame>, Option<FramingError>) {
    decode_chunks(MAX, chunks)
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, stream)) = data.split_first() else {
        return;
    };
    let at = usize::from(split) * stream.len() / 256;
    let (whole, whole_err) = decode(&[stream]);
    let (split_frames, split_err) = decode(&[&stream[..at], &stream[at..]]);
    for f in whole.iter().chain(&split_frames) {
        assert!(!f.bytes.is_empty() && f.bytes.len() <= MAX);
    }
    assert_eq!(whole, split_frames);
    assert_eq!(whole_err, split_err);
});
