//! The few pieces of JavaScript semantics etsy statsd's results depend on: what `Number(str)`
//! accepts, what `\s` and `String.prototype.trim` call whitespace, and how `String(number)`
//! prints. Matching etsy byte for byte needs these exactly; Rust's `f64::from_str` accepts
//! `inf`/`nan` and rejects `0x1f`, and `char::is_whitespace` differs on U+0085 and U+FEFF.

/// JavaScript's WhiteSpace and LineTerminator code points (the `\s` class, what `trim` strips).
pub(crate) fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// `Number(bytes)` on the UTF-8 decoded string. Invalid UTF-8 decodes to U+FFFD in node, which
/// is never numeric, so it is NaN here.
pub(crate) fn number(bytes: &[u8]) -> f64 {
    match std::str::from_utf8(bytes) {
        Ok(s) => number_str(s),
        Err(_) => f64::NAN,
    }
}

/// `Boolean(str && !isNaN(str))`, etsy's `isNumber`: non-empty and numeric (so `" "` is a
/// number, zero, as in etsy).
pub(crate) fn is_number(bytes: &[u8]) -> bool {
    !bytes.is_empty() && !number(bytes).is_nan()
}

/// `Number(s)` (ECMA-262 StringToNumber).
pub(crate) fn number_str(s: &str) -> f64 {
    let t = s.trim_matches(is_js_space);
    if t.is_empty() {
        return 0.0;
    }
    match t {
        "Infinity" | "+Infinity" => return f64::INFINITY,
        "-Infinity" => return f64::NEG_INFINITY,
        _ => {}
    }
    let b = t.as_bytes();
    if b.len() > 2 && b[0] == b'0' {
        let radix = match b[1] {
            b'x' | b'X' => 16,
            b'o' | b'O' => 8,
            b'b' | b'B' => 2,
            _ => 0,
        };
        if radix != 0 {
            let mut v = 0f64;
            for &d in &b[2..] {
                match (d as char).to_digit(radix) {
                    Some(d) => v = v * f64::from(radix) + f64::from(d),
                    None => return f64::NAN,
                }
            }
            return v;
        }
    }
    if !is_decimal_literal(b) {
        return f64::NAN;
    }
    t.parse::<f64>().unwrap_or(f64::NAN)
}

/// StrDecimalLiteral without Infinity: `[+-]? (d+ (. d*)? | . d+) ([eE] [+-]? d+)?`.
fn is_decimal_literal(b: &[u8]) -> bool {
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    let mut n = digits(&mut i);
    if i < b.len() && b[i] == b'.' {
        i += 1;
        n += digits(&mut i);
    }
    if n == 0 {
        return false;
    }
    if i < b.len() && matches!(b[i], b'e' | b'E') {
        i += 1;
        if i < b.len() && matches!(b[i], b'+' | b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Appends `String(v)`: shortest round-trip digits, exponent form outside [1e-6, 1e21).
pub(crate) fn push_number(out: &mut String, v: f64) {
    use std::fmt::Write;
    if v.is_nan() {
        out.push_str("NaN");
    } else if v.is_infinite() {
        out.push_str(if v > 0.0 { "Infinity" } else { "-Infinity" });
    } else if v == 0.0 {
        out.push('0');
    } else if v.abs() >= 1e21 || v.abs() < 1e-6 {
        let start = out.len();
        let _ = write!(out, "{v:e}");
        if let Some(e) = out[start..].find('e')
            && out.as_bytes().get(start + e + 1) != Some(&b'-')
        {
            out.insert(start + e + 1, '+');
        }
    } else {
        let _ = write!(out, "{v}");
    }
}

/// `String(v).length`, for graphite's `flush_length`.
pub(crate) fn number_len(v: f64) -> usize {
    let mut s = String::new();
    push_number(&mut s, v);
    s.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn number_follows_javascript() {
        for (s, v) in [
            ("1", 1.0),
            (" 2.5 ", 2.5),
            ("", 0.0),
            (" ", 0.0),
            ("+3", 3.0),
            ("-3", -3.0),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1.e1", 10.0),
            ("0x1f", 31.0),
            ("0b101", 5.0),
            ("0o17", 15.0),
            ("Infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("\u{A0}7\u{FEFF}", 7.0),
        ] {
            assert_eq!(number_str(s), v, "{s:?}");
        }
        for s in [
            "inf", "nan", "NaN", "1,5", "1.2.3", "0x", "-0x1", "1e", ".", "e5", "1_0", "abc",
            "\u{85}1",
        ] {
            assert!(number_str(s).is_nan(), "{s:?}");
        }
        assert!(number(b"\xff1").is_nan());
        assert!(is_number(b" "));
        assert!(!is_number(b""));
    }

    #[test]
    fn to_string_follows_javascript() {
        for (v, s) in [
            (90.0, "90"),
            (-10.0, "-10"),
            (99.9, "99.9"),
            (0.1 + 0.2, "0.30000000000000004"),
            (81.64965809277261, "81.64965809277261"),
            (1e21, "1e+21"),
            (1.5e-7, "1.5e-7"),
            (1e-6, "0.000001"),
            (-0.0, "0"),
            (f64::INFINITY, "Infinity"),
            (f64::NAN, "NaN"),
        ] {
            let mut out = String::new();
            push_number(&mut out, v);
            assert_eq!(out, s);
        }
    }
}
