//! graphite-web's `TimeSeries` (`render/datalib.py`): values on a fixed step from `start`
//! (inclusive) to `end`, plus the metadata functions read and rewrite: the display name, the
//! path expression it came from, tags, and how to consolidate it when points are merged.

use std::collections::BTreeMap;

/// How several points become one (graphite-web's `consolidationFunc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Consolidation {
    #[default]
    Average,
    /// As `Average`, but nulls count as zero.
    AvgZero,
    Sum,
    Min,
    Max,
    First,
    Last,
}

impl Consolidation {
    /// graphite-web's names, including the `avg` alias.
    pub fn parse(s: &str) -> Option<Consolidation> {
        Some(match s {
            "average" | "avg" => Consolidation::Average,
            "avg_zero" => Consolidation::AvgZero,
            "sum" => Consolidation::Sum,
            "min" => Consolidation::Min,
            "max" => Consolidation::Max,
            "first" => Consolidation::First,
            "last" => Consolidation::Last,
            _ => return None,
        })
    }

    fn apply(self, usable: &[f64]) -> f64 {
        match self {
            Consolidation::Average | Consolidation::AvgZero => {
                usable.iter().sum::<f64>() / usable.len() as f64
            }
            Consolidation::Sum => usable.iter().sum(),
            Consolidation::Min => usable.iter().copied().fold(f64::INFINITY, f64::min),
            Consolidation::Max => usable.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Consolidation::First => usable.first().copied().unwrap_or(f64::NAN),
            Consolidation::Last => usable.last().copied().unwrap_or(f64::NAN),
        }
    }
}

/// One series. `values_per_point > 1` means readers see [`TimeSeries::points`], the values
/// consolidated in groups, as graphite-web's iterator yields them after `normalize` or
/// `maxDataPoints` set it; `values` itself keeps the raw points.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeSeries {
    pub name: String,
    pub path_expression: String,
    pub tags: BTreeMap<String, String>,
    pub start: i64,
    pub end: i64,
    pub step: i64,
    pub values: Vec<Option<f64>>,
    pub consolidation: Consolidation,
    pub values_per_point: usize,
    pub x_files_factor: f64,
    /// Style-only options (color, lineWidth...) that renderers read; JSON output ignores them.
    pub options: BTreeMap<String, String>,
}

impl TimeSeries {
    /// A series named `name`, its tags parsed from the name as graphite-web's tag database
    /// does (`a.b;k=v` → `{name: a.b, k: v}`), unless the name looks like a function call.
    pub fn new(
        name: impl Into<String>,
        start: i64,
        end: i64,
        step: i64,
        values: Vec<Option<f64>>,
    ) -> TimeSeries {
        let name = name.into();
        TimeSeries {
            tags: parse_tags(&name),
            path_expression: name.clone(),
            name,
            start,
            end,
            step,
            values,
            consolidation: Consolidation::Average,
            values_per_point: 1,
            x_files_factor: 0.0,
            options: BTreeMap::new(),
        }
    }

    /// The values as readers see them: consolidated in groups of `values_per_point`, a group
    /// null unless its share of non-null values reaches `x_files_factor`.
    pub fn points(&self) -> Vec<Option<f64>> {
        let n = self.values_per_point.max(1);
        if n == 1 {
            return self.values.clone();
        }
        let mut out = Vec::with_capacity(self.values.len().div_ceil(n));
        let mut buf = Vec::with_capacity(n);
        for chunk in self.values.chunks(n) {
            buf.clear();
            for v in chunk {
                match v {
                    Some(x) => buf.push(*x),
                    None if self.consolidation == Consolidation::AvgZero => buf.push(0.0),
                    None => {}
                }
            }
            let non_null = chunk.iter().filter(|v| v.is_some()).count();
            // graphite-web divides by valuesPerPoint even for a short last group.
            let ok = non_null > 0 && non_null as f64 / n as f64 >= self.x_files_factor;
            out.push(ok.then(|| self.consolidation.apply(&buf)));
        }
        out
    }

    /// The step readers see (`step * values_per_point`).
    pub fn effective_step(&self) -> i64 {
        self.step * self.values_per_point.max(1) as i64
    }

    /// graphite-web's `series.copy(name=..., values=...)`: same range, tags and
    /// consolidation; the path expression is reset to the new name as the constructor does.
    pub fn derive(&self, name: String, values: Vec<Option<f64>>) -> TimeSeries {
        TimeSeries {
            path_expression: name.clone(),
            name,
            start: self.start,
            end: self.end,
            step: self.step,
            values,
            tags: self.tags.clone(),
            consolidation: self.consolidation,
            values_per_point: 1,
            x_files_factor: self.x_files_factor,
            options: BTreeMap::new(),
        }
    }
}

/// Tags of a series name: `name;k=v;...`. A name shaped like `func(...)` only gets `name`,
/// as graphite-web skips parsing those.
pub fn parse_tags(name: &str) -> BTreeMap<String, String> {
    let mut tags = BTreeMap::new();
    if looks_like_call(name) {
        tags.insert("name".to_string(), name.to_string());
        return tags;
    }
    let mut parts = name.split(';');
    tags.insert(
        "name".to_string(),
        parts.next().unwrap_or_default().to_string(),
    );
    for p in parts {
        if let Some((k, v)) = p.split_once('=')
            && !k.is_empty()
        {
            tags.insert(k.to_string(), v.to_string());
        }
    }
    tags
}

/// `^[a-z]+[(].+[)]$`, case-insensitive.
fn looks_like_call(name: &str) -> bool {
    let letters = name.bytes().take_while(u8::is_ascii_alphabetic).count();
    letters > 0
        && name[letters..].starts_with('(')
        && name.ends_with(')')
        && name.len() > letters + 2
}

/// Python's `"%g" % x`: six significant digits, trailing zeros dropped, exponent form
/// outside `1e-4 <= |x| < 1e6`; graphite-web names series with it (`scale(a,2)`).
pub fn format_g(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{x:.5e}");
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (5 - exp).max(0) as usize;
    trim_zeros(&format!("{x:.decimals$}")).to_string()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Python's `str(float)`: shortest round-trip repr with a `.0` on integral values.
pub fn format_py_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e16).contains(&a) {
        let s = format!("{x:e}");
        let (m, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", e.abs());
    }
    format!("{x:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_g_matches_python() {
        for (x, s) in [
            (2.0, "2"),
            (0.5, "0.5"),
            (-1.25, "-1.25"),
            (1234567.0, "1.23457e+06"),
            (100000.0, "100000"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.0 / 3.0, "0.333333"),
        ] {
            assert_eq!(format_g(x), s, "{x}");
        }
    }

    #[test]
    fn format_py_float_matches_python_str() {
        for (x, s) in [
            (100.0, "100.0"),
            (0.1, "0.1"),
            (1e16, "1e+16"),
            (1e-5, "1e-05"),
        ] {
            assert_eq!(format_py_float(x), s, "{x}");
        }
    }

    #[test]
    fn tags_come_from_the_name_unless_it_is_a_call() {
        let t = parse_tags("cpu;host=web1;dc=ams");
        assert_eq!(t["name"], "cpu");
        assert_eq!(t["host"], "web1");
        assert_eq!(parse_tags("sumSeries(a;b=c)")["name"], "sumSeries(a;b=c)");
        assert_eq!(parse_tags("sumSeries(a;b=c)").len(), 1);
    }

    #[test]
    fn points_consolidate_with_xff_over_values_per_point() {
        let mut s = TimeSeries::new(
            "a",
            0,
            50,
            10,
            vec![Some(1.0), None, Some(3.0), Some(5.0), None],
        );
        s.values_per_point = 2;
        assert_eq!(s.points(), vec![Some(1.0), Some(4.0), None]);
        s.x_files_factor = 0.6;
        assert_eq!(s.points(), vec![None, Some(4.0), None]);
        s.x_files_factor = 0.5;
        s.consolidation = Consolidation::Sum;
        assert_eq!(s.points(), vec![Some(1.0), Some(8.0), None]);
    }
}
