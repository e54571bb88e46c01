//! TEMPORARY stub replaced by the real decoder from the syslog branch.
use bytes::BytesMut;

pub struct Frame {
    pub bytes: Vec<u8>,
    pub truncated: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum FramingError {
    #[error("bad octet count")]
    BadOctetCount,
}

pub struct FrameDecoder {
    max: usize,
}

impl FrameDecoder {
    pub fn new(max_message: usize) -> Self {
        FrameDecoder { max: max_message }
    }

    pub fn decode(&mut self, buf: &mut BytesMut, eof: bool) -> Result<Option<Frame>, FramingError> {
        loop {
            if let Some(p) = memchr::memchr(b'\n', buf) {
                let line = buf.split_to(p + 1);
                let l = &line[..p];
                if l.is_empty() {
                    continue;
                }
                let n = l.len().min(self.max);
                return Ok(Some(Frame {
                    bytes: l[..n].to_vec(),
                    truncated: l.len() > self.max,
                }));
            }
            if eof && !buf.is_empty() {
                let l = buf.split_to(buf.len());
                return Ok(Some(Frame {
                    bytes: l.to_vec(),
                    truncated: false,
                }));
            }
            return Ok(None);
        }
    }
}
