//! The frame decoder must never panic, never return a frame over the maximum, and give the same
//! frames however a read splits the stream (here: two chunks at a fuzz-chosen point).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use telltale::ingest::syslog::{Frame, FrameDecoder, FramingError};

const MAX: usize = 64;

/// Decodes `chunks` in order, then at end of stream.
fn decode(chunks: &[&[u8]]) -> (Vec<Frame>, Option<FramingError>) {
    let mut d = FrameDecoder::new(MAX);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        loop {
            match d.decode(&mut buf, false) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return (frames, Some(e)),
            }
        }
    }
    loop {
        match d.decode(&mut buf, true) {
            Ok(Some(f)) => frames.push(f),
            Ok(None) => return (frames, None),
            Err(e) => return (frames, Some(e)),
        }
    }
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
