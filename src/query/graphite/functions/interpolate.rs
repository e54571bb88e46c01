//! `interpolate(seriesList, limit=inf)`: fills runs of at most `limit` nulls linearly between
//! the values around them; leading and trailing nulls stay.

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, limit=inf)",
    description: "Fills gaps of up to limit null points by linear interpolation.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("limit", ParamType::IntOrInf).default(Literal::Float(f64::INFINITY)),
    ],
    run: |_, args| {
        let limit = args.float(1).unwrap_or(f64::INFINITY);
        let mut list = args.series(0);
        for s in &mut list {
            s.name = format!("interpolate({})", s.name);
            s.path_expression = s.name.clone();
            let v = &mut s.values;
            let mut nones = 0usize;
            for i in 1..v.len() {
                let Some(value) = v[i] else {
                    nones += 1;
                    continue;
                };
                if nones == 0 {
                    continue;
                }
                let Some(before) = v[i - nones - 1] else {
                    nones = 0;
                    continue;
                };
                if nones as f64 <= limit {
                    for (k, slot) in v[i - nones..i].iter_mut().enumerate() {
                        let step = (k + 1) as f64;
                        *slot = Some(before + step * (value - before) / (nones + 1) as f64);
                    }
                }
                nones = 0;
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn linear_fill() {
        let out = eval("interpolate(g.gaps)");
        assert_eq!(names(&out), ["interpolate(g.gaps)"]);
        assert_eq!(
            vals(&out[0]),
            [Some(1.0), Some(2.0), Some(3.0), Some(4.0), None]
        );
        let out = eval("interpolate(g.gaps, 1)");
        assert_eq!(vals(&out[0]), [Some(1.0), None, None, Some(4.0), None]);
    }
}
