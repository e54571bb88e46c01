//! Gorilla-style compression of `(timestamp, value)` sequences (Pelkonen et al., VLDB 2015),
//! our own because it is small and the property tests pin it down.
//!
//! Timestamps are delta-of-delta coded: slots of a fixed step make every delta equal, so a
//! point usually costs one bit of time. Values are XORed with the previous one and only the
//! meaningful bits are kept, which makes repeated and slowly changing values cheap. All
//! arithmetic wraps, so any `i64` sequence round-trips; `f64` values are kept bit for bit
//! (every NaN payload included). The byte layout is in `docs/format/metrics.md`.

/// A chunk that cannot be decoded (truncated or corrupt bytes).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("corrupt chunk: {0}")]
pub struct ChunkError(pub &'static str);

struct BitWriter {
    bytes: Vec<u8>,
    /// Bits used in the last byte (0 = start a new byte).
    used: u8,
}

impl BitWriter {
    fn push(&mut self, bit: bool) {
        if self.used == 0 {
            self.bytes.push(0);
        }
        if bit && let Some(last) = self.bytes.last_mut() {
            *last |= 0x80 >> self.used;
        }
        self.used = (self.used + 1) % 8;
    }

    /// The low `n` bits of `v`, most significant first.
    fn bits(&mut self, v: u64, n: u8) {
        for i in (0..n).rev() {
            self.push((v >> i) & 1 == 1);
        }
    }
}

struct BitReader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl BitReader<'_> {
    fn bit(&mut self) -> Result<bool, ChunkError> {
        let byte = self
            .bytes
            .get(self.pos / 8)
            .ok_or(ChunkError("unexpected end"))?;
        let b = byte & (0x80 >> (self.pos % 8)) != 0;
        self.pos += 1;
        Ok(b)
    }

    fn bits(&mut self, n: u8) -> Result<u64, ChunkError> {
        let mut v = 0u64;
        for _ in 0..n {
            v = (v << 1) | self.bit()? as u64;
        }
        Ok(v)
    }
}

/// Encodes points sorted by timestamp (not checked: unsorted input still round-trips, only
/// less compactly).
pub fn encode(points: &[(i64, f64)]) -> Vec<u8> {
    let mut w = BitWriter {
        bytes: Vec::with_capacity(8 + points.len() * 2),
        used: 0,
    };
    let count = u32::try_from(points.len()).unwrap_or(u32::MAX);
    w.bytes.extend_from_slice(&count.to_le_bytes());
    let (mut prev_t, mut prev_delta, mut prev_v) = (0i64, 0i64, 0u64);
    let (mut lead, mut trail) = (u8::MAX, 0u8);
    for (i, &(t, v)) in points.iter().take(count as usize).enumerate() {
        let v = v.to_bits();
        if i == 0 {
            w.bits(t as u64, 64);
            w.bits(v, 64);
        } else {
            let delta = t.wrapping_sub(prev_t);
            let dod = delta.wrapping_sub(prev_delta);
            prev_delta = delta;
            // the buckets Gorilla uses, sized for second-resolution slots
            match dod {
                0 => w.push(false),
                -63..=64 => {
                    w.bits(0b10, 2);
                    w.bits(dod as u64, 7);
                }
                -255..=256 => {
                    w.bits(0b110, 3);
                    w.bits(dod as u64, 9);
                }
                -2047..=2048 => {
                    w.bits(0b1110, 4);
                    w.bits(dod as u64, 12);
                }
                _ => {
                    w.bits(0b1111, 4);
                    w.bits(dod as u64, 64);
                }
            }
            let x = v ^ prev_v;
            if x == 0 {
                w.push(false);
            } else {
                w.push(true);
                let l = (x.leading_zeros() as u8).min(31);
                let t = x.trailing_zeros() as u8;
                if lead != u8::MAX && l >= lead && t >= trail {
                    // fits the previous window: reuse it
                    w.push(false);
                    w.bits(x >> trail, 64 - lead - trail);
                } else {
                    w.push(true);
                    lead = l;
                    trail = t;
                    let sig = 64 - l - t;
                    w.bits(l as u64, 5);
                    // 64 significant bits are written as 0: six bits hold 0..=63
                    w.bits((sig % 64) as u64, 6);
                    w.bits(x >> t, sig);
                }
            }
        }
        prev_t = t;
        prev_v = v;
    }
    w.bytes
}

/// Sign-extends the low `n` bits.
fn signed(v: u64, n: u8) -> i64 {
    let shift = 64 - n as u32;
    ((v << shift) as i64) >> shift
}

pub fn decode(bytes: &[u8]) -> Result<Vec<(i64, f64)>, ChunkError> {
    let head: [u8; 4] = bytes
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(ChunkError("no point count"))?;
    let count = u32::from_le_bytes(head) as usize;
    // each point takes at least two bits: a bound on what a corrupt count may allocate
    if count > (bytes.len() - 4) * 4 + 1 {
        return Err(ChunkError("point count larger than the chunk"));
    }
    let mut r = BitReader {
        bytes: &bytes[4..],
        pos: 0,
    };
    let mut out = Vec::with_capacity(count);
    let (mut prev_t, mut prev_delta, mut prev_v) = (0i64, 0i64, 0u64);
    let (mut lead, mut trail) = (0u8, 0u8);
    for i in 0..count {
        let (t, v);
        if i == 0 {
            t = r.bits(64)? as i64;
            v = r.bits(64)?;
        } else {
            let dod = if !r.bit()? {
                0
            } else if !r.bit()? {
                signed(r.bits(7)?, 7)
            } else if !r.bit()? {
                signed(r.bits(9)?, 9)
            } else if !r.bit()? {
                signed(r.bits(12)?, 12)
            } else {
                r.bits(64)? as i64
            };
            prev_delta = prev_delta.wrapping_add(dod);
            t = prev_t.wrapping_add(prev_delta);
            v = if !r.bit()? {
                prev_v
            } else {
                if r.bit()? {
                    lead = r.bits(5)? as u8;
                    let sig = match r.bits(6)? as u8 {
                        0 => 64,
                        s => s,
                    };
                    if lead + sig > 64 {
                        return Err(ChunkError("xor window out of range"));
                    }
                    trail = 64 - lead - sig;
                }
                let x = r.bits(64 - lead - trail)? << trail;
                if x == 0 {
                    return Err(ChunkError("empty xor"));
                }
                prev_v ^ x
            };
        }
        out.push((t, f64::from_bits(v)));
        prev_t = t;
        prev_v = v;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn same(a: &[(i64, f64)], b: &[(i64, f64)]) -> bool {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| x.0 == y.0 && x.1.to_bits() == y.1.to_bits())
    }

    #[test]
    fn regular_slots_cost_about_two_bits_a_point() {
        let pts: Vec<(i64, f64)> = (0..1000).map(|i| (1_700_000_000 + i * 10, 5.0)).collect();
        let enc = encode(&pts);
        // 128 bits for the first point, 9 for the first delta, then 2 bits a point
        assert!(enc.len() <= 4 + 16 + 2 + 1000 / 4, "{}", enc.len());
        assert!(same(&decode(&enc).unwrap(), &pts));
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn corrupt_chunks_are_errors_not_panics() {
        let pts: Vec<(i64, f64)> = (0..50).map(|i| (i * 7, i as f64 * 0.37)).collect();
        let enc = encode(&pts);
        for cut in 0..enc.len() {
            let _ = decode(&enc[..cut]);
        }
        assert!(decode(&enc[..enc.len() / 2]).is_err());
        assert!(decode(&[]).is_err());
        assert!(decode(&[255, 255, 255, 255]).is_err());
    }

    proptest! {
        #[test]
        fn arbitrary_sequences_round_trip(
            mut ts in proptest::collection::vec(any::<i64>(), 0..200),
            bits in proptest::collection::vec(any::<u64>(), 200),
            small in proptest::collection::vec((0i64..100_000, -1000i32..1000), 0..200),
        ) {
            ts.sort_unstable();
            let pts: Vec<(i64, f64)> = ts.iter().zip(&bits).map(|(&t, &b)| (t, f64::from_bits(b))).collect();
            prop_assert!(same(&decode(&encode(&pts)).unwrap(), &pts));
            // the realistic shape: near-regular times, decimal values, NaN payloads
            let mut t = 1_700_000_000i64;
            let pts: Vec<(i64, f64)> = small.iter().enumerate().map(|(i, &(dt, v))| {
                t += 10 + dt % 3 * 1000;
                let v = match i % 7 { 0 => f64::from_bits(0x7ff8_0000_0000_0001 + i as u64), _ => v as f64 / 100.0 };
                (t, v)
            }).collect();
            prop_assert!(same(&decode(&encode(&pts)).unwrap(), &pts));
        }
    }
}
