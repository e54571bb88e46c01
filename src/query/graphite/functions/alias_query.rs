//! `aliasQuery(seriesList, search, replace, newName)`: each name is rewritten by a regex into
//! another target, that target evaluated, and the series renamed `newName % <its last
//! non-null value>` (Python's %-formatting, e.g. `"Channel %d MHz"`).

use super::alias_sub::python_replacement;
use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::{format_g, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Alias",
    signature: "(seriesList, search, replace, newName)",
    description: "Names each series by formatting the last value of another query, derived from its name by a regex substitution.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("search", ParamType::String).required(),
        Param::new("replace", ParamType::String).required(),
        Param::new("newName", ParamType::String).required(),
    ],
    run: |ctx, args| {
        let search = args.string(1).unwrap_or_default();
        let re = regex::Regex::new(search).map_err(|e| args.bad(format!("invalid search: {e}")))?;
        let replace = python_replacement(args.string(2).unwrap_or_default());
        let new_name = args.string(3).unwrap_or_default().to_string();
        let mut list = args.series(0);
        for s in &mut list {
            let query = re.replace_all(&s.name, replace.as_str()).into_owned();
            let found = ctx.eval_target(&query)?;
            let first = found
                .first()
                .ok_or_else(|| args.bad(format!("no series found with query: {query}")))?;
            let last = first
                .points()
                .into_iter()
                .rev()
                .flatten()
                .next()
                .ok_or_else(|| args.bad(format!("cannot get last value of series: {query}")))?;
            s.name = percent_format(&new_name, last).map_err(|m| args.bad(m))?;
        }
        Ok(list)
    },
};

/// Largest width or precision `percent_format` accepts.
const MAX_FIELD: usize = 999;

/// Python's `fmt % value` for one float value: `%d %i %u %f %F %e %E %g %G %s %r %%` with
/// flags, width and precision. Anything else (`%x` of a float too) is an error, as in Python.
pub fn percent_format(fmt: &str, value: f64) -> Result<String, String> {
    let mut out = String::new();
    let mut used = false;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut flags = String::new();
        while let Some(f) = chars.peek().copied().filter(|f| "-+ 0#".contains(*f)) {
            flags.push(f);
            chars.next();
        }
        let mut width = String::new();
        while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
            width.push(d);
            chars.next();
        }
        let mut precision: Option<usize> = None;
        if chars.peek() == Some(&'.') {
            chars.next();
            let mut p = String::new();
            while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                p.push(d);
                chars.next();
            }
            precision = Some(if p.is_empty() {
                0
            } else {
                p.parse().unwrap_or(usize::MAX)
            });
        }
        let conv = chars.next().ok_or("incomplete format")?;
        // a name is short; a hostile width or precision must not allocate gigabytes
        if width.len() > 3 || precision.is_some_and(|p| p > MAX_FIELD) {
            return Err(format!("width and precision are limited to {MAX_FIELD}"));
        }
        if conv == '%' {
            out.push('%');
            continue;
        }
        if used {
            return Err("not enough arguments for format string".into());
        }
        used = true;
        let int = || {
            if value.is_finite() {
                Ok(value.trunc())
            } else {
                Err(format!(
                    "cannot convert float {} to integer",
                    format_py_float(value)
                ))
            }
        };
        // (numeric, negative, digits without sign)
        let (numeric, neg, body) = match conv {
            'd' | 'i' | 'u' => {
                let n = int()?;
                (true, n < 0.0, format!("{:.0}", n.abs()))
            }
            'f' | 'F' => (
                true,
                value.is_sign_negative(),
                format!("{:.*}", precision.unwrap_or(6), value.abs()),
            ),
            'e' | 'E' => {
                let s = python_exp(value.abs(), precision.unwrap_or(6));
                let s = if conv == 'E' { s.to_uppercase() } else { s };
                (true, value.is_sign_negative(), s)
            }
            'g' | 'G' => {
                let s = python_g(value.abs(), precision.unwrap_or(6), flags.contains('#'));
                let s = if conv == 'G' { s.to_uppercase() } else { s };
                (true, value.is_sign_negative(), s)
            }
            's' | 'r' => {
                let mut s = format_py_float(value);
                if let Some(p) = precision {
                    s = s.chars().take(p).collect();
                }
                (false, false, s)
            }
            other => return Err(format!("unsupported format character '{other}'")),
        };
        let sign = if !numeric {
            ""
        } else if neg {
            "-"
        } else if flags.contains('+') {
            "+"
        } else if flags.contains(' ') {
            " "
        } else {
            ""
        };
        let width: usize = width.parse().unwrap_or(0);
        let len = sign.len() + body.chars().count();
        let pad = width.saturating_sub(len);
        if flags.contains('-') {
            out.push_str(sign);
            out.push_str(&body);
            out.push_str(&" ".repeat(pad));
        } else if flags.contains('0') && numeric {
            out.push_str(sign);
            out.push_str(&"0".repeat(pad));
            out.push_str(&body);
        } else {
            out.push_str(&" ".repeat(pad));
            out.push_str(sign);
            out.push_str(&body);
        }
    }
    if !used {
        return Err("not all arguments converted during string formatting".into());
    }
    Ok(out)
}

/// `%.Ne` of a non-negative value: a two-digit exponent at least.
fn python_exp(x: f64, precision: usize) -> String {
    let s = format!("{x:.precision$e}");
    let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
    let e: i32 = e.parse().unwrap_or(0);
    format!("{m}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs())
}

/// `%.Ng` of a non-negative value.
fn python_g(x: f64, precision: usize, alt: bool) -> String {
    if precision == 6 && !alt {
        return format_g(x);
    }
    let p = precision.max(1);
    if x == 0.0 {
        return "0".into();
    }
    let exp = format!("{x:.0$e}", p - 1)
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i32>().ok())
        .unwrap_or(0);
    let s = if exp < -4 || exp >= p as i32 {
        python_exp(x, p - 1)
    } else {
        format!("{x:.0$}", (p as i32 - 1 - exp).max(0) as usize)
    };
    if alt {
        return s;
    }
    match s.split_once('e') {
        Some((m, e)) if m.contains('.') => {
            format!("{}e{e}", m.trim_end_matches('0').trim_end_matches('.'))
        }
        None if s.contains('.') => s.trim_end_matches('0').trim_end_matches('.').to_string(),
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::percent_format;
    use crate::query::graphite::functions::tests::{ctx_none, eval, names};

    #[test]
    fn names_from_the_last_value_of_another_query() {
        let out = eval(r"aliasQuery(a.x, 'a\.x', 'a.y', 'v=%d')");
        assert_eq!(names(&out), ["v=40"]);
        assert_eq!(out[0].path_expression, "a.x");
        let e = ctx_none()
            .eval_target(r"aliasQuery(a.x, 'a\.x', 'no.such', '%d')")
            .unwrap_err();
        assert!(e.to_string().contains("no series found"), "{e}");
    }

    // expected strings: Python's `fmt % value` (check_more_functions.py)
    #[test]
    fn percent_format_matches_python() {
        let cases: &[(&str, [&str; 3])] = &[
            ("%d", ["40", "-2", "1234567"]),
            ("%.2f", ["40.00", "-2.50", "1234567.00"]),
            ("%5.1f|", [" 40.0|", " -2.5|", "1234567.0|"]),
            ("%-6g|", ["40    |", "-2.5  |", "1.23457e+06|"]),
            ("%s", ["40.0", "-2.5", "1234567.0"]),
            ("%e", ["4.000000e+01", "-2.500000e+00", "1.234567e+06"]),
            ("%+d", ["+40", "-2", "+1234567"]),
            ("%05d", ["00040", "-0002", "1234567"]),
            ("%g%%", ["40%", "-2.5%", "1.23457e+06%"]),
        ];
        for (fmt, want) in cases {
            for (v, w) in [40.0, -2.5, 1234567.0].iter().zip(want) {
                assert_eq!(percent_format(fmt, *v).as_deref(), Ok(*w), "{fmt} % {v}");
            }
        }
        assert!(percent_format("%x", 1.0).is_err());
        assert!(percent_format("none", 1.0).is_err());
        assert!(percent_format("%d %d", 1.0).is_err());
    }

    proptest::proptest! {
        #[test]
        fn percent_format_never_panics(fmt in "[%a-z0-9.+ #-]{0,12}", v in proptest::num::f64::ANY) {
            let _ = percent_format(&fmt, v);
        }
    }
}
