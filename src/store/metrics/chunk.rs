//! Gorilla-style compression of `(timestamp, value)` sequences (Pelkonen et al., VLDB 2015),
//! our own because it is small and the property tests pin it down.
//!
//! Timestamps are delta-of-delta coded: slots of a fixed step make every delta equal, so a
//! point usually costs one bit of time. Values are XORed with the previous one and only the
//! meaningful bits are kept, which makes repeated and slowly changing values cheap. But most
//! metrics are short decimals (`12.34`), whose binary mantissas look random to XOR; when every
//! value of a chunk is `m / 10^e` exactly, the chunk stores the integers `m` as zigzag deltas
//! in groups of 16 sharing one bit width instead (what VictoriaMetrics learned: about a byte a
//! point for a two-decimal random walk, against seven with XOR). All arithmetic wraps, so any
//! `i64` sequence round-trips; `f64` values are kept bit for bit (every NaN payload included).
//! The byte layout is in `docs/format/metrics.md`.

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

    /// The next `n <= 64` bits, most significant first: one unaligned 64-bit load plus the
    /// next byte, not a loop over bits (decoding is the read path's inner loop).
    fn bits(&mut self, n: u8) -> Result<u64, ChunkError> {
        if n == 0 {
            return Ok(0);
        }
        let n = u32::from(n.min(64));
        let end = self.pos + n as usize;
        if end > self.bytes.len() * 8 {
            return Err(ChunkError("unexpected end"));
        }
        let at = self.pos / 8;
        let off = (self.pos % 8) as u32;
        let mut window = [0u8; 9];
        let avail = (self.bytes.len() - at).min(9);
        window[..avail].copy_from_slice(&self.bytes[at..at + avail]);
        let [w0, w1, w2, w3, w4, w5, w6, w7, w8] = window;
        let hi = u64::from_be_bytes([w0, w1, w2, w3, w4, w5, w6, w7]);
        // the `off` bits consumed from the first byte are replaced by the top of the ninth
        let w = (hi << off) | (u64::from(w8) >> (8 - off));
        self.pos = end;
        Ok(w >> (64 - n))
    }
}

/// Largest decimal exponent tried: `10^15 < 2^53`, so the scale itself is exact.
const MAX_DECIMALS: u8 = 15;
/// Value deltas per bit-width group in decimal mode.
const GROUP: usize = 16;

/// The mantissa of `v` at `e` decimals, if `m / 10^e` gives back `v` bit for bit.
fn mantissa(v: f64, e: u8) -> Option<i64> {
    let scale = 10f64.powi(e as i32);
    let m = (v * scale).round();
    // below 2^53 every integer is exact, so `m / scale` is the correctly rounded quotient,
    // which is what parsing the decimal text gave
    if !m.is_finite() || m.abs() >= (1u64 << 53) as f64 {
        return None;
    }
    // checked through the integer, as decoding computes it (`-0.0` comes back as `0.0`)
    let m = m as i64;
    ((m as f64 / scale).to_bits() == v.to_bits()).then_some(m)
}

/// The fewest decimals that represent every value exactly, with the mantissas, if any
/// (metrics are mostly decimal text: `12.34` needs 2).
fn decimals(points: &[(i64, f64)]) -> Option<(u8, Vec<i64>)> {
    let mut e = 0;
    for &(_, v) in points {
        while mantissa(v, e).is_none() {
            e += 1;
            if e > MAX_DECIMALS {
                return None;
            }
        }
    }
    // a value exact at fewer places may not be at `e` (its mantissa outgrows 2^53)
    let ms = points
        .iter()
        .map(|&(_, v)| mantissa(v, e))
        .collect::<Option<Vec<i64>>>()?;
    Some((e, ms))
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// Encodes points sorted by timestamp (not checked: unsorted input still round-trips, only
/// less compactly). Values that are all short decimals are stored as integer deltas, like
/// VictoriaMetrics does; any others as Gorilla XORs.
pub fn encode(points: &[(i64, f64)]) -> Vec<u8> {
    let points = &points[..points.len().min(u32::MAX as usize)];
    let mut w = BitWriter {
        bytes: Vec::with_capacity(8 + points.len() * 2),
        used: 0,
    };
    w.bytes
        .extend_from_slice(&(points.len() as u32).to_le_bytes());
    let decimal = decimals(points);
    w.bytes.push(decimal.as_ref().map_or(0, |(e, _)| e + 1));
    let (mut prev_t, mut prev_delta) = (0i64, 0i64);
    for (i, &(t, _)) in points.iter().enumerate() {
        if i == 0 {
            w.bits(t as u64, 64);
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
        }
        prev_t = t;
    }
    match decimal {
        Some((_, ms)) => encode_decimal(&mut w, &ms),
        None => encode_xor(&mut w, points),
    }
    w.bytes
}

fn encode_decimal(w: &mut BitWriter, ms: &[i64]) {
    let Some(&first) = ms.first() else { return };
    w.bits(first as u64, 64);
    let deltas: Vec<u64> = ms
        .windows(2)
        .map(|p| zigzag(p[1].wrapping_sub(p[0])))
        .collect();
    for group in deltas.chunks(GROUP) {
        let width = group
            .iter()
            .map(|d| 64 - d.leading_zeros())
            .max()
            .unwrap_or(0) as u8;
        w.bits(width as u64, 7);
        for &d in group {
            w.bits(d, width);
        }
    }
}

fn encode_xor(w: &mut BitWriter, points: &[(i64, f64)]) {
    let (mut lead, mut trail) = (u8::MAX, 0u8);
    let mut prev = 0u64;
    for (i, &(_, v)) in points.iter().enumerate() {
        let v = v.to_bits();
        if i == 0 {
            w.bits(v, 64);
            prev = v;
            continue;
        }
        let x = v ^ prev;
        prev = v;
        if x == 0 {
            w.push(false);
            continue;
        }
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

/// Sign-extends the low `n` bits.
fn signed(v: u64, n: u8) -> i64 {
    let shift = 64 - n as u32;
    ((v << shift) as i64) >> shift
}

pub fn decode(bytes: &[u8]) -> Result<Vec<(i64, f64)>, ChunkError> {
    let (Some(head), Some(&mode)) = (bytes.get(..4), bytes.get(4)) else {
        return Err(ChunkError("no chunk header"));
    };
    let count = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    // every point after the first takes at least one bit: a bound on what a corrupt count
    // may allocate
    if count > (bytes.len() - 5) * 8 + 1 {
        return Err(ChunkError("point count larger than the chunk"));
    }
    if mode > MAX_DECIMALS + 1 {
        return Err(ChunkError("unknown value encoding"));
    }
    let mut r = BitReader {
        bytes: &bytes[5..],
        pos: 0,
    };
    let mut ts = Vec::with_capacity(count);
    let (mut prev_t, mut prev_delta) = (0i64, 0i64);
    for i in 0..count {
        let t = if i == 0 {
            r.bits(64)? as i64
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
            prev_t.wrapping_add(prev_delta)
        };
        ts.push(t);
        prev_t = t;
    }
    let values = match mode {
        0 => decode_xor(&mut r, count)?,
        _ => decode_decimal(&mut r, count, mode - 1)?,
    };
    Ok(ts.into_iter().zip(values).collect())
}

fn decode_decimal(r: &mut BitReader, count: usize, e: u8) -> Result<Vec<f64>, ChunkError> {
    let scale = 10f64.powi(e as i32);
    let mut out = Vec::with_capacity(count);
    if count == 0 {
        return Ok(out);
    }
    let mut m = r.bits(64)? as i64;
    out.push(m as f64 / scale);
    let mut left = count - 1;
    while left > 0 {
        let width = r.bits(7)? as u8;
        if width > 64 {
            return Err(ChunkError("delta width out of range"));
        }
        for _ in 0..left.min(GROUP) {
            m = m.wrapping_add(unzigzag(r.bits(width)?));
            out.push(m as f64 / scale);
        }
        left -= left.min(GROUP);
    }
    Ok(out)
}

fn decode_xor(r: &mut BitReader, count: usize) -> Result<Vec<f64>, ChunkError> {
    let mut out = Vec::with_capacity(count);
    let (mut lead, mut trail) = (0u8, 0u8);
    let mut prev = 0u64;
    for i in 0..count {
        let v = if i == 0 {
            r.bits(64)?
        } else if !r.bit()? {
            prev
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
            prev ^ x
        };
        out.push(f64::from_bits(v));
        prev = v;
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
    fn regular_slots_of_a_constant_cost_little_more_than_a_bit_a_point() {
        let pts: Vec<(i64, f64)> = (0..1000).map(|i| (1_700_000_000 + i * 10, 5.0)).collect();
        let enc = encode(&pts);
        assert_eq!(enc[4], 1, "integers are decimals with 0 places");
        // 128 bits for the first point, 9 for the first delta, a bit a timestamp, 7 bits per
        // 16 zero deltas
        assert!(
            enc.len() <= 5 + 16 + 2 + 1000 / 8 + 1000 * 7 / 16 / 8 + 1,
            "{}",
            enc.len()
        );
        assert!(same(&decode(&enc).unwrap(), &pts));
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }

    #[test]
    fn a_two_decimal_random_walk_costs_about_a_byte_a_point() {
        let mut x = 5000i64;
        let mut seed = 42u64;
        let pts: Vec<(i64, f64)> = (0..8640)
            .map(|i| {
                seed = seed
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                x += (seed >> 33) as i64 % 201 - 100;
                (1_700_000_000 + i * 10, x as f64 / 100.0)
            })
            .collect();
        let enc = encode(&pts);
        assert_eq!(enc[4], 3, "two decimals");
        let per_point = enc.len() as f64 / pts.len() as f64;
        assert!(per_point < 1.2, "{per_point} bytes a point");
        assert!(same(&decode(&enc).unwrap(), &pts));
        // values that are not short decimals fall back to XOR, still exact
        let pts: Vec<(i64, f64)> = (0..100).map(|i| (i, (i as f64).sqrt())).collect();
        let enc = encode(&pts);
        assert_eq!(enc[4], 0);
        assert!(same(&decode(&enc).unwrap(), &pts));
        for odd in [-0.0, f64::NAN, f64::INFINITY, 0.1 + 0.2, 1e300, 5e-324] {
            let pts = [(0, 1.5), (10, odd)];
            assert!(same(&decode(&encode(&pts)).unwrap(), &pts), "{odd}");
        }
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
        assert!(decode(&[1, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
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

        #[test]
        fn decimal_sequences_round_trip(
            ms in proptest::collection::vec(any::<i64>(), 0..100),
            e in 0u8..16,
        ) {
            let pts: Vec<(i64, f64)> = ms.iter().enumerate()
                .map(|(i, &m)| (i as i64 * 10, (m >> 11) as f64 / 10f64.powi(e as i32)))
                .collect();
            prop_assert!(same(&decode(&encode(&pts)).unwrap(), &pts));
        }
    }
}
