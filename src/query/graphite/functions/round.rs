//! `round(seriesList, precision=None)`: Python's `round(x, precision)` (half to even on the
//! exact binary value); negative precision rounds to tens, hundreds...

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, precision=None)",
    description: "Rounds each value to the given number of decimal places (default 0).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("precision", ParamType::Integer).default(Literal::Int(0)),
    ],
    run: |_, args| {
        let precision = args.int(1);
        let p = precision.unwrap_or(0);
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("round".into(), p.to_string());
            s.name = match precision {
                None => format!("round({})", s.name),
                Some(p) => format!("round({},{p})", s.name),
            };
            s.path_expression = s.name.clone();
            for v in s.values.iter_mut().flatten() {
                *v = py_round(*v, p);
            }
        }
        Ok(list)
    },
};

/// Python's `round(x, ndigits)` for floats.
pub fn py_round(x: f64, digits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if digits >= 0 {
        let d = usize::try_from(digits.min(300)).unwrap_or(300);
        format!("{x:.d$}").parse().unwrap_or(x)
    } else {
        let m = 10f64.powi(i32::try_from(-digits).unwrap_or(308).min(308));
        (x / m).round_ties_even() * m
    }
}

#[cfg(test)]
mod tests {
    use super::py_round;
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn rounding_as_python() {
        assert_eq!(py_round(2.5, 0), 2.0);
        assert_eq!(py_round(3.5, 0), 4.0);
        assert_eq!(py_round(0.125, 2), 0.12);
        assert_eq!(py_round(1234.0, -2), 1200.0);
        let out = eval("round(scale(a.x, 0.33), 1)");
        assert_eq!(names(&out), ["round(scale(a.x,0.33),1)"]);
        assert_eq!(vals(&out[0]), [Some(0.3), None, Some(1.0), Some(1.3)]);
        assert_eq!(names(&eval("round(a.x)")), ["round(a.x)"]);
    }
}
