//! TCP syslog framing (RFC 6587): octet counting and non-transparent framing, detected per frame.
//!
//! Senders mix the two in practice (rsyslog switches with `TCP_Framing`, `logger --octet-count`
//! only for some messages), so the decision is taken for every frame: a frame that starts with a
//! digit is octet-counted (`<digits> SP <that many bytes>`), anything else ends at LF, CRLF or NUL.
//! The decoder never holds more than about `max_message` bytes of one frame: an oversized frame is
//! cut and the rest of it is discarded as it arrives.

use bytes::{Buf, BytesMut};

/// RFC 6587 allows any length, but nine digits (just under 1 GB) is already far beyond any sane
/// message; more digits means we are not looking at an octet count at all.
const MAX_COUNT_DIGITS: usize = 9;

/// One message taken off the stream, without its framing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The message bytes: no octet count, no trailing LF/CRLF/NUL.
    pub bytes: Vec<u8>,
    /// The message was longer than the decoder's maximum and was cut to it.
    pub truncated: bool,
}

/// A stream that cannot be framed; the caller closes that one connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// More digits than any real octet count has: the stream is not syslog or is out of sync.
    #[error("octet count longer than {MAX_COUNT_DIGITS} digits")]
    CountTooLong,
    /// Digits at the start of a frame followed by something else than a space.
    #[error("octet count not followed by a space (found byte 0x{found:02x})")]
    CountNotFollowedBySpace { found: u8 },
    /// The stream ended in the middle of an octet count.
    #[error("stream ended inside an octet count")]
    EofInCount,
}

/// What to do with bytes of a frame that was already cut at `max_message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skip {
    /// Nothing to skip: the next byte starts a frame.
    None,
    /// The rest of an octet-counted frame: this many bytes still to drop.
    Octets(usize),
    /// The rest of a non-transparent frame: drop through the next LF or NUL.
    UntilDelimiter,
}

/// Incremental frame decoder for one TCP connection; keeps only the little state needed to resume
/// (a skip in progress and how far the current line was already searched).
#[derive(Debug)]
pub struct FrameDecoder {
    /// Longest message kept; longer ones are cut and flagged.
    max_message: usize,
    /// Remainder of an oversized frame still to be discarded.
    skip: Skip,
    /// Bytes at the front of the buffer already searched for a delimiter without finding one,
    /// so feeding a long line in small chunks stays linear.
    scanned: usize,
}

impl FrameDecoder {
    /// A decoder that cuts messages longer than `max_message` bytes (the server uses 64 KiB).
    pub fn new(max_message: usize) -> Self {
        Self {
            max_message,
            skip: Skip::None,
            scanned: 0,
        }
    }

    /// Takes the next complete frame off the front of `buf` (a buffer the reader appends to).
    ///
    /// `Ok(None)` means more bytes are needed. At `eof == true` a trailing unterminated frame is
    /// returned as a frame (an octet-counted one that is shorter than announced is flagged
    /// `truncated`). Empty frames (blank lines) are skipped.
    pub fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Frame>, FramingError> {
        loop {
            if !self.discard_skipped(buf) {
                return Ok(None);
            }
            let Some(&first) = buf.first() else {
                return Ok(None);
            };
            let frame = if first.is_ascii_digit() {
                self.octet_counted(buf, eof)?
            } else {
                self.non_transparent(buf, eof)
            };
            match frame {
                None => return Ok(None),
                Some(f) if f.bytes.is_empty() => continue,
                Some(f) => return Ok(Some(f)),
            }
        }
    }

    /// Drops bytes of an oversized frame; false when the buffer ran out before the skip ended.
    fn discard_skipped(&mut self, buf: &mut BytesMut) -> bool {
        match self.skip {
            Skip::None => true,
            Skip::Octets(n) => {
                let k = n.min(buf.len());
                buf.advance(k);
                if k == n {
                    self.skip = Skip::None;
                    true
                } else {
                    self.skip = Skip::Octets(n - k);
                    false
                }
            }
            Skip::UntilDelimiter => match memchr::memchr2(b'\n', 0, buf) {
                Some(i) => {
                    buf.advance(i + 1);
                    self.skip = Skip::None;
                    true
                }
                None => {
                    buf.clear();
                    false
                }
            },
        }
    }

    fn octet_counted(
        &mut self,
        buf: &mut BytesMut,
        eof: bool,
    ) -> Result<Option<Frame>, FramingError> {
        let mut len: usize = 0;
        let mut digits = 0;
        loop {
            match buf.get(digits) {
                Some(b) if b.is_ascii_digit() => {
                    if digits == MAX_COUNT_DIGITS {
                        return Err(FramingError::CountTooLong);
                    }
                    len = len * 10 + usize::from(b - b'0');
                    digits += 1;
                }
                Some(b' ') => break,
                Some(&found) => return Err(FramingError::CountNotFollowedBySpace { found }),
                None if eof => return Err(FramingError::EofInCount),
                None => return Ok(None),
            }
        }
        let header = digits + 1;
        let keep = len.min(self.max_message);
        let available = buf.len() - header;
        if available < keep {
            if !eof {
                return Ok(None);
            }
            // The peer closed mid-frame: hand over what came, marked as cut.
            buf.advance(header);
            let bytes = buf.split_to(available).to_vec();
            return Ok(Some(Frame {
                bytes,
                truncated: true,
            }));
        }
        buf.advance(header);
        let mut bytes = buf.split_to(keep).to_vec();
        let truncated = len > keep;
        if truncated {
            self.skip = Skip::Octets(len - keep);
        } else {
            // rsyslog counts the template's trailing LF into the frame; it is framing, not text.
            strip_terminator(&mut bytes);
        }
        Ok(Some(Frame { bytes, truncated }))
    }

    fn non_transparent(&mut self, buf: &mut BytesMut, eof: bool) -> Option<Frame> {
        // A kept line may be max bytes plus CR plus LF; search no further than that.
        let window = buf.len().min(self.max_message.saturating_add(2));
        let from = self.scanned.min(window);
        match memchr::memchr2(b'\n', 0, &buf[from..window]) {
            Some(i) => {
                let end = from + i;
                let is_lf = buf[end] == b'\n';
                let mut line = buf.split_to(end + 1);
                line.truncate(end);
                if is_lf && line.last() == Some(&b'\r') {
                    line.truncate(end - 1);
                }
                self.scanned = 0;
                let truncated = line.len() > self.max_message;
                line.truncate(self.max_message);
                Some(Frame {
                    bytes: line.to_vec(),
                    truncated,
                })
            }
            None if window == self.max_message.saturating_add(2) => {
                // No delimiter within reach: keep the first max bytes, drop the rest as it comes.
                let bytes = buf.split_to(self.max_message).to_vec();
                self.scanned = 0;
                self.skip = Skip::UntilDelimiter;
                Some(Frame {
                    bytes,
                    truncated: true,
                })
            }
            None if eof => {
                let mut bytes = buf.split().to_vec();
                self.scanned = 0;
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                let truncated = bytes.len() > self.max_message;
                bytes.truncate(self.max_message);
                Some(Frame { bytes, truncated })
            }
            None => {
                self.scanned = window;
                None
            }
        }
    }
}

/// Removes one trailing LF, CRLF or NUL.
fn strip_terminator(bytes: &mut Vec<u8>) {
    match bytes.last() {
        Some(b'\n') => {
            bytes.pop();
            if bytes.last() == Some(&b'\r') {
                bytes.pop();
            }
        }
        Some(0) => {
            bytes.pop();
        }
        _ => {}
    }
}

/// Decodes a whole stream delivered in `chunks` (as reads would deliver it), then at end of
/// stream: what a connection does, without the socket. Stops at the first framing error.
/// Used by the property tests and the fuzz target to check that splits never change frames.
pub fn decode_chunks(max_message: usize, chunks: &[&[u8]]) -> (Vec<Frame>, Option<FramingError>) {
    let mut d = FrameDecoder::new(max_message);
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

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use proptest::prelude::*;

    const R25601: &[u8] =
        include_bytes!("../../../ingest-tests/golden/syslog/rsyslog-omfwd-tcp-25601.raw");
    const R25603: &[u8] =
        include_bytes!("../../../ingest-tests/golden/syslog/rsyslog-omfwd-tcp-25603.raw");
    const R25605: &[u8] =
        include_bytes!("../../../ingest-tests/golden/syslog/rsyslog-omfwd-tcp-25605.raw");

    /// Decodes a whole stream given as one chunk, then at EOF.
    fn decode_all(max: usize, input: &[u8]) -> Result<Vec<Frame>, FramingError> {
        let mut d = FrameDecoder::new(max);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while let Some(f) = d.decode(&mut buf, false)? {
            out.push(f);
        }
        while let Some(f) = d.decode(&mut buf, true)? {
            out.push(f);
        }
        Ok(out)
    }

    /// Feeds the stream in chunks of `chunk` bytes, as a socket reader would.
    fn decode_chunked(max: usize, input: &[u8], chunk: usize) -> Result<Vec<Frame>, FramingError> {
        let mut d = FrameDecoder::new(max);
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            buf.extend_from_slice(c);
            while let Some(f) = d.decode(&mut buf, false)? {
                out.push(f);
            }
        }
        while let Some(f) = d.decode(&mut buf, true)? {
            out.push(f);
        }
        Ok(out)
    }

    fn texts(frames: &[Frame]) -> Vec<String> {
        frames
            .iter()
            .map(|f| String::from_utf8_lossy(&f.bytes).into_owned())
            .collect()
    }

    const MIXED: &[u8] =
        b"5 hello\n<13>lf line\n<13>crlf line\r\n<13>nul line\x00\n\r\n12 octet\nwith\x00!<14>last";

    fn mixed_expected() -> Vec<String> {
        [
            "hello",
            "<13>lf line",
            "<13>crlf line",
            "<13>nul line",
            "octet\nwith\x00!",
            "<14>last",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn mixed_framing_in_one_stream() {
        let frames = decode_all(1024, MIXED).unwrap();
        assert_eq!(texts(&frames), mixed_expected());
        assert!(frames.iter().all(|f| !f.truncated));
    }

    #[test]
    fn split_at_every_byte_boundary() {
        let frames = decode_chunked(1024, MIXED, 1).unwrap();
        assert_eq!(texts(&frames), mixed_expected());
        for cut in 0..=MIXED.len() {
            let mut d = FrameDecoder::new(1024);
            let mut buf = BytesMut::from(&MIXED[..cut]);
            let mut out = Vec::new();
            while let Some(f) = d.decode(&mut buf, false).unwrap() {
                out.push(f);
            }
            buf.extend_from_slice(&MIXED[cut..]);
            while let Some(f) = d.decode(&mut buf, false).unwrap() {
                out.push(f);
            }
            while let Some(f) = d.decode(&mut buf, true).unwrap() {
                out.push(f);
            }
            assert_eq!(texts(&out), mixed_expected(), "cut at {cut}");
        }
    }

    #[test]
    fn empty_frames_are_skipped() {
        let frames = decode_all(64, b"\n\n\r\n\x00\x000 \na\n\n").unwrap();
        assert_eq!(texts(&frames), ["a"]);
    }

    #[test]
    fn no_frame_until_terminator_unless_eof() {
        let mut d = FrameDecoder::new(64);
        let mut buf = BytesMut::from(&b"<13>partial"[..]);
        assert_eq!(d.decode(&mut buf, false).unwrap(), None);
        assert_eq!(buf.len(), 11, "nothing consumed while waiting");
        let f = d.decode(&mut buf, true).unwrap().unwrap();
        assert_eq!(f.bytes, b"<13>partial");
        assert_eq!(d.decode(&mut buf, true).unwrap(), None);
    }

    #[test]
    fn unterminated_frame_at_eof_respects_max() {
        let frames = decode_all(4, b"<bcde").unwrap();
        assert_eq!(texts(&frames), ["<bcd"]);
        assert!(frames[0].truncated);
    }

    #[test]
    fn octet_frame_short_at_eof_is_flagged() {
        let frames = decode_all(64, b"10 abc").unwrap();
        assert_eq!(texts(&frames), ["abc"]);
        assert!(frames[0].truncated);
    }

    #[test]
    fn long_lf_frame_is_truncated_and_rest_skipped() {
        let mut input = vec![b'x'; 100];
        input.extend_from_slice(b"\nnext\n");
        for chunk in [1, 3, 7, 200] {
            let frames = decode_chunked(10, &input, chunk).unwrap();
            assert_eq!(texts(&frames), ["xxxxxxxxxx", "next"], "chunk {chunk}");
            assert!(frames[0].truncated);
            assert!(!frames[1].truncated);
        }
    }

    #[test]
    fn exactly_max_is_not_truncated() {
        let frames = decode_all(4, b"abcd\r\nabcde\n<234\n4 wxyz5 vwxyz").unwrap();
        assert_eq!(texts(&frames), ["abcd", "abcd", "<234", "wxyz", "vwxy"]);
        let flags: Vec<bool> = frames.iter().map(|f| f.truncated).collect();
        assert_eq!(flags, [false, true, false, false, true]);
    }

    #[test]
    fn long_octet_frame_is_truncated_and_rest_skipped() {
        let mut input = b"100 ".to_vec();
        input.extend(std::iter::repeat_n(b'y', 100));
        input.extend_from_slice(b"3 abc");
        for chunk in [1, 5, 1000] {
            let frames = decode_chunked(10, &input, chunk).unwrap();
            assert_eq!(texts(&frames), ["yyyyyyyyyy", "abc"], "chunk {chunk}");
            assert!(frames[0].truncated);
        }
    }

    /// A 10 MB line fed in 4 KiB reads must never make the buffer grow past about max + one read.
    #[test]
    fn truncation_uses_bounded_memory() {
        const MAX: usize = 1024;
        const READ: usize = 4096;
        for start in [&b""[..], b"10000000 "] {
            let mut d = FrameDecoder::new(MAX);
            let mut buf = BytesMut::new();
            let mut frames = Vec::new();
            buf.extend_from_slice(start);
            let total = 10_000_000;
            let mut sent = 0;
            let mut peak = 0;
            while sent < total {
                let n = READ.min(total - sent);
                buf.extend_from_slice(&vec![b'z'; n]);
                sent += n;
                peak = peak.max(buf.len());
                while let Some(f) = d.decode(&mut buf, false).unwrap() {
                    frames.push(f);
                }
            }
            buf.extend_from_slice(b"\n<13>after\n");
            while let Some(f) = d.decode(&mut buf, true).unwrap() {
                frames.push(f);
            }
            assert!(peak <= MAX + READ + 16, "peak buffer {peak}");
            assert_eq!(frames.len(), 2);
            assert!(frames[0].truncated);
            assert_eq!(frames[0].bytes.len(), MAX);
            assert_eq!(frames[1].bytes, b"<13>after");
        }
    }

    #[test]
    fn bad_octet_counts_are_errors() {
        assert_eq!(
            decode_all(64, b"1234567890 x"),
            Err(FramingError::CountTooLong)
        );
        assert_eq!(
            decode_all(64, b"12x hello"),
            Err(FramingError::CountNotFollowedBySpace { found: b'x' })
        );
        assert_eq!(decode_all(64, b"12"), Err(FramingError::EofInCount));
        // Nine digits is allowed (and then truncated to max).
        let f = decode_all(4, b"999999999 abcdef").unwrap();
        assert_eq!(texts(&f), ["abcd"]);
        assert_eq!(
            FramingError::CountNotFollowedBySpace { found: b'x' }.to_string(),
            "octet count not followed by a space (found byte 0x78)"
        );
    }

    #[test]
    fn rsyslog_captures_decode() {
        let lines = [
            "<134>1 2026-11-24T16:00:00+00:00 myhost myapp 123 - -  hello 3164 via imtcp",
            "<165>1 2026-11-24T16:00:00.123456+00:00 myhost app 123 ID47 [exampleSDID@32473 iut=\"3\" eventSource=\"App\"] hello 5424 via imtcp",
            "<133>1 2026-11-24T16:29:53.622209+00:00 vm peerfile - - - hello via imfile",
        ];
        for chunk in [1, 2, 13, 4096] {
            assert_eq!(texts(&decode_chunked(65536, R25603, chunk).unwrap()), lines);
            assert_eq!(texts(&decode_chunked(65536, R25605, chunk).unwrap()), lines);
            assert_eq!(
                texts(&decode_chunked(65536, R25601, chunk).unwrap()),
                [
                    "<134>Nov 24 16:00:00 myhost myapp[123]: hello 3164 via imtcp",
                    "<165>Nov 24 16:00:00 myhost app[123] hello 5424 via imtcp",
                    "<133>Nov 24 16:29:53 vm peerfile: hello via imfile",
                ]
            );
        }
    }

    #[test]
    fn logger_octet_count_frame() {
        let input = b"130 <156>1 2026-11-24T16:29:53.629014+00:00 vm myapp - MID1 [timeQuality tzKnown=\"1\" isSynced=\"0\"][zoo@123 tiger=\"hungry\"] hello octet";
        let frames = decode_all(65536, input).unwrap();
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].bytes, &input[4..]);
    }

    proptest! {
        #[test]
        fn decoder_never_panics_and_respects_max(
            input in proptest::collection::vec(any::<u8>(), 0..600),
            max in 1usize..40,
            chunk in 1usize..50,
        ) {
            let mut d = FrameDecoder::new(max);
            let mut buf = BytesMut::new();
            'outer: for c in input.chunks(chunk) {
                buf.extend_from_slice(c);
                loop {
                    match d.decode(&mut buf, false) {
                        Ok(Some(f)) => prop_assert!(f.bytes.len() <= max && !f.bytes.is_empty()),
                        Ok(None) => break,
                        Err(_) => break 'outer,
                    }
                }
                prop_assert!(buf.len() <= max + 12 + chunk);
            }
            for _ in 0..input.len() + 1 {
                match d.decode(&mut buf, true) {
                    Ok(Some(f)) => prop_assert!(f.bytes.len() <= max),
                    _ => break,
                }
            }
        }

        /// However a read splits the stream, the frames (and any error) are the same.
        #[test]
        fn split_point_does_not_matter(
            input in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'\r'), Just(0u8), Just(b' '), Just(b'7'), Just(b'1'), any::<u8>()],
                0..200,
            ),
            at in any::<prop::sample::Index>(),
        ) {
            let at = at.index(input.len() + 1);
            let run = |chunks: &[&[u8]]| decode_chunks(16, chunks);
            prop_assert_eq!(run(&[&input]), run(&[&input[..at], &input[at..]]));
        }

        #[test]
        fn lf_lines_round_trip(lines in proptest::collection::vec("[a-z<>0-9 ]{0,20}", 0..20)) {
            // Lines that start with a digit would be octet-counted; prefix them like syslog does.
            let lines: Vec<String> = lines.into_iter().map(|l| format!("<{l}")).collect();
            let stream = lines.iter().map(|l| format!("{l}\n")).collect::<String>();
            let frames = decode_chunked(64, stream.as_bytes(), 3).unwrap();
            prop_assert_eq!(texts(&frames), lines);
        }
    }
}
