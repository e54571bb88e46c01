//! `pow(seriesList, factor)`: x to the power factor; what Python's `math.pow` refuses (0 to a
//! negative power, a negative base to a fractional power, overflow) is null.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::{format_g, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, factor)",
    description: "Raises each value to the given power.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("factor", ParamType::Float).required(),
    ],
    run: |_, args| {
        let factor = args
            .float(1)
            .ok_or_else(|| args.bad("factor must be a number"))?;
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("pow".into(), format_py_float(factor));
            s.name = format!("pow({},{})", s.name, format_g(factor));
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| v.and_then(|x| safe_pow(x, factor)))
                .collect();
        }
        Ok(list)
    },
};

/// graphite-web's `safePow`: `math.pow` with its errors as null.
pub fn safe_pow(a: f64, b: f64) -> Option<f64> {
    if a == 0.0 && b < 0.0 {
        return None;
    }
    let r = a.powf(b);
    if r.is_nan() && !a.is_nan() && !b.is_nan() {
        return None;
    }
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return None;
    }
    Some(r)
}

#[cfg(test)]
mod tests {
    use super::safe_pow;
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn powers() {
        let out = eval("pow(a.x, 2)");
        assert_eq!(names(&out), ["pow(a.x,2)"]);
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(9.0), Some(16.0)]);
        assert_eq!(safe_pow(-8.0, 0.5), None);
        assert_eq!(safe_pow(0.0, -1.0), None);
        assert_eq!(safe_pow(10.0, 400.0), None);
    }
}
