//! The statsd line protocol as etsy statsd 0.9.0 reads it (`stats.js` `handlePacket` and
//! `lib/helpers.js` `is_valid_packet`), without allocating: a packet is split on `\n`; a line
//! is `name:value|type[|@rate][|...]`, optionally followed by DogStatsD tags after the first
//! `|#`; several values may follow one name (`k:1|c:2|c`). Everything returned borrows the
//! packet.
//!
//! Where etsy's rules are odd they are kept, because operators' numbers depend on them: a
//! type is validated as written but dispatched trimmed (`1|c\r` is a counter); an unknown type
//! is a counter; `Number()` rules decide what is numeric (`0x10`, ` `, `Infinity` are). One
//! addition: `h` is a timer, as DogStatsD and statsite treat it (etsy would count it as a
//! counter), validated like `ms`.

use super::js;

/// Why one value of a line was rejected; each counts once in `bad_lines_seen`, as in etsy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("missing metric type")]
    MissingType,
    #[error("invalid sample rate")]
    BadSampleRate,
    #[error("value is not a number")]
    BadValue,
    #[error("timer value is negative")]
    NegativeTimer,
}

/// What a value is aggregated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    /// `ms`, and `h` (DogStatsD histogram)
    Timer,
    Set,
}

/// One value of a line.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sample<'a> {
    pub kind: MetricKind,
    /// The value field as sent: set members are compared as text, and a gauge's leading sign
    /// decides between set and delta.
    pub raw: &'a [u8],
    /// `Number(raw)`; 0 for sets (unused).
    pub value: f64,
    /// From `|@rate`; 1 when absent. Counters and timer counts are scaled by `1 / rate`.
    pub sample_rate: f64,
}

impl Sample<'_> {
    /// A gauge value with a sign is a delta (applied only when the gauge exists, see the
    /// aggregator).
    pub fn has_sign(&self) -> bool {
        matches!(self.raw.first(), Some(b'+' | b'-'))
    }
}

/// One line: the name, the tag list and the values, still unparsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line<'a> {
    /// Bytes before the first `:` (the whole line when there is none).
    pub name: &'a [u8],
    /// Between the first `|#` and the next `|#` (etsy drops anything after a second one).
    pub tags: &'a [u8],
    /// After the first `:`; `None` when the line has no `:` (a bad line).
    pub values: Option<&'a [u8]>,
}

/// The non-empty lines of a packet (etsy skips empty ones without counting them).
pub fn lines(packet: &[u8]) -> impl Iterator<Item = &[u8]> {
    packet.split(|&b| b == b'\n').filter(|l| !l.is_empty())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

impl<'a> Line<'a> {
    /// Splits a line; never fails (bad values show up in [`Line::samples`]).
    pub fn parse(line: &'a [u8]) -> Self {
        let (head, tags) = match find(line, b"|#") {
            Some(i) => {
                let rest = &line[i + 2..];
                let end = find(rest, b"|#").unwrap_or(rest.len());
                (&line[..i], &rest[..end])
            }
            None => (line, &line[line.len()..]),
        };
        match memchr::memchr(b':', head) {
            Some(i) => Line {
                name: &head[..i],
                tags,
                values: Some(&head[i + 1..]),
            },
            None => Line {
                name: head,
                tags,
                values: None,
            },
        }
    }

    /// The tags, split on `,`; empty when none were sent.
    pub fn tags(&self) -> impl Iterator<Item = &'a [u8]> {
        let tags = self.tags;
        tags.split(|&b| b == b',').filter(move |_| !tags.is_empty())
    }

    /// Every value of the line, each parsed on its own: one bad value does not spoil the others.
    pub fn samples(&self) -> Samples<'a> {
        Samples {
            rest: self.values,
            missing: self.values.is_none(),
        }
    }
}

/// Iterator over a line's values.
#[derive(Debug, Clone)]
pub struct Samples<'a> {
    rest: Option<&'a [u8]>,
    /// The line had no `:`: etsy treats that as one value `1` without a type, a bad line.
    missing: bool,
}

impl<'a> Iterator for Samples<'a> {
    type Item = Result<Sample<'a>, ParseError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.missing {
            self.missing = false;
            return Some(Err(ParseError::MissingType));
        }
        let rest = self.rest?;
        let (bit, next) = match memchr::memchr(b':', rest) {
            Some(i) => (&rest[..i], Some(&rest[i + 1..])),
            None => (rest, None),
        };
        self.rest = next;
        Some(parse_sample(bit))
    }
}

/// Parses one `value|type[|@rate][|...]`.
pub fn parse_sample(bit: &[u8]) -> Result<Sample<'_>, ParseError> {
    let mut fields = bit.split(|&b| b == b'|');
    let raw = fields.next().unwrap_or_default();
    let ty = fields.next().ok_or(ParseError::MissingType)?;
    let sample_rate = match fields.next() {
        None => 1.0,
        Some(rate) => parse_rate(rate)?,
    };
    // validated on the type as written (helpers.js), dispatched on the trimmed type (stats.js)
    match ty {
        b"s" => {}
        b"ms" | b"h" => {
            let v = js::number(raw);
            if raw.is_empty() || v.is_nan() {
                return Err(ParseError::BadValue);
            }
            if v < 0.0 {
                return Err(ParseError::NegativeTimer);
            }
        }
        _ if !js::is_number(raw) => return Err(ParseError::BadValue),
        _ => {}
    }
    let kind = match trim(ty) {
        b"ms" | b"h" => MetricKind::Timer,
        b"g" => MetricKind::Gauge,
        b"s" => MetricKind::Set,
        _ => MetricKind::Counter,
    };
    let value = if kind == MetricKind::Set {
        0.0
    } else {
        js::number(raw)
    };
    Ok(Sample {
        kind,
        raw,
        value,
        sample_rate,
    })
}

/// `@rate`: etsy accepts any non-negative `Number()` after `@`, then uses only the leading
/// `[0-9.]+` of it (`@1e-1` is 1). Where that prefix is empty (`@+0.5`, `@ 1`) etsy throws in
/// its packet handler; here the value is rejected as a bad line instead.
fn parse_rate(field: &[u8]) -> Result<f64, ParseError> {
    let num = match field {
        [b'@', num @ ..] if !num.is_empty() => num,
        _ => return Err(ParseError::BadSampleRate),
    };
    if !js::is_number(num) || num[0] == b'-' {
        return Err(ParseError::BadSampleRate);
    }
    let end = num
        .iter()
        .position(|b| !(b.is_ascii_digit() || *b == b'.'))
        .unwrap_or(num.len());
    if end == 0 {
        return Err(ParseError::BadSampleRate);
    }
    Ok(js::number(&num[..end]))
}

/// JavaScript's `trim` on bytes (the non-ASCII whitespace never forms a known type anyway).
fn trim(b: &[u8]) -> &[u8] {
    match std::str::from_utf8(b) {
        Ok(s) => s.trim_matches(js::is_js_space).as_bytes(),
        Err(_) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(line: &str) -> Result<Sample<'_>, ParseError> {
        let l = Line::parse(line.as_bytes());
        let mut s = l.samples();
        let r = s.next().unwrap();
        assert!(s.next().is_none(), "{line}: more than one value");
        r
    }

    #[test]
    fn counter_with_and_without_rate() {
        let s = one("a.b:3|c").unwrap();
        assert_eq!(
            (s.kind, s.value, s.sample_rate),
            (MetricKind::Counter, 3.0, 1.0)
        );
        let s = one("a.b:2|c|@0.5").unwrap();
        assert_eq!((s.value, s.sample_rate), (2.0, 0.5));
        let s = one("a:1|c|@0.1|extra").unwrap();
        assert_eq!(s.sample_rate, 0.1);
    }

    #[test]
    fn types() {
        assert_eq!(one("t:100|ms").unwrap().kind, MetricKind::Timer);
        assert_eq!(one("t:100|h").unwrap().kind, MetricKind::Timer);
        assert_eq!(one("g:5|g").unwrap().kind, MetricKind::Gauge);
        assert_eq!(one("s:alice|s").unwrap().kind, MetricKind::Set);
        assert_eq!(one("s:alice|s").unwrap().raw, b"alice");
        // etsy: unknown types are counters; the type is trimmed before dispatch
        assert_eq!(one("x:1|m").unwrap().kind, MetricKind::Counter);
        assert_eq!(one("x:1|ms\r").unwrap().kind, MetricKind::Timer);
        assert_eq!(one("x:1|c\r").unwrap().kind, MetricKind::Counter);
    }

    #[test]
    fn gauge_signs() {
        assert!(one("g:+5|g").unwrap().has_sign());
        assert!(one("g:-5|g").unwrap().has_sign());
        assert!(!one("g:5|g").unwrap().has_sign());
        assert_eq!(one("g:-5|g").unwrap().value, -5.0);
    }

    #[test]
    fn bad_values() {
        assert_eq!(one("a"), Err(ParseError::MissingType));
        assert_eq!(one("a:"), Err(ParseError::MissingType));
        assert_eq!(one("a:1"), Err(ParseError::MissingType));
        assert_eq!(one("a:x|c"), Err(ParseError::BadValue));
        assert_eq!(one("a:|c"), Err(ParseError::BadValue));
        assert_eq!(one("a:x|g"), Err(ParseError::BadValue));
        assert_eq!(one("a:-1|ms"), Err(ParseError::NegativeTimer));
        assert_eq!(one("a:-1|h"), Err(ParseError::NegativeTimer));
        assert_eq!(one("a:1|c|"), Err(ParseError::BadSampleRate));
        assert_eq!(one("a:1|c|0.5"), Err(ParseError::BadSampleRate));
        assert_eq!(one("a:1|c|@"), Err(ParseError::BadSampleRate));
        assert_eq!(one("a:1|c|@-1"), Err(ParseError::BadSampleRate));
        assert_eq!(one("a:1|c|@x"), Err(ParseError::BadSampleRate));
        assert_eq!(one("a:1|c|@+0.5"), Err(ParseError::BadSampleRate));
        // sets accept anything, even an empty member
        assert!(one("s:|s").is_ok());
    }

    #[test]
    fn rate_uses_leading_digits_like_etsy() {
        assert_eq!(one("a:1|c|@1e-1").unwrap().sample_rate, 1.0);
        assert_eq!(one("a:1|c|@.25").unwrap().sample_rate, 0.25);
    }

    #[test]
    fn packed_values() {
        let l = Line::parse(b"k:1|c:2|c|@0.5:bad|c:3|ms");
        assert_eq!(l.name, b"k");
        let v: Vec<_> = l.samples().collect();
        assert_eq!(v.len(), 4);
        assert_eq!(v[0].unwrap().value, 1.0);
        assert_eq!(v[1].unwrap().sample_rate, 0.5);
        assert_eq!(v[2], Err(ParseError::BadValue));
        assert_eq!(v[3].unwrap().kind, MetricKind::Timer);
    }

    #[test]
    fn tags() {
        let l = Line::parse(b"req:1|c|@0.5|#env:prod,role|#dropped");
        assert_eq!(l.name, b"req");
        assert_eq!(l.tags, b"env:prod,role");
        assert_eq!(l.tags().collect::<Vec<_>>(), [&b"env:prod"[..], b"role"]);
        assert_eq!(l.samples().next().unwrap().unwrap().sample_rate, 0.5);
        assert_eq!(Line::parse(b"a:1|c|#").tags().count(), 0);
        assert_eq!(Line::parse(b"a:1|c").tags().count(), 0);
    }

    #[test]
    fn multi_line_packets_skip_empty_lines() {
        let got: Vec<_> = lines(b"a:1|c\n\nb:2|c\n").collect();
        assert_eq!(got, [&b"a:1|c"[..], b"b:2|c"]);
    }

    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parser_never_panics_on_bytes(packet in proptest::collection::vec(any::<u8>(), 0..400)) {
            for raw in lines(&packet) {
                let line = Line::parse(raw);
                prop_assert!(raw.starts_with(line.name));
                for s in line.samples().flatten() {
                    prop_assert!(s.kind == MetricKind::Set || !s.value.is_nan());
                    prop_assert!(!s.sample_rate.is_sign_negative());
                }
                let _ = line.tags().count();
            }
        }

        #[test]
        fn parser_never_panics_on_near_statsd(
            parts in proptest::collection::vec(
                prop::sample::select(vec!["a", ":", "|", "c", "ms", "h", "g", "s", "@", "0.5", "-", "+",
                    "1", "e", "#", ",", ";", "=", "x", " ", "\n", "0x1", ".", "\u{a0}"]),
                0..40),
        ) {
            let packet = parts.concat();
            for raw in lines(packet.as_bytes()) {
                let _ = Line::parse(raw).samples().count();
            }
        }
    }
}
