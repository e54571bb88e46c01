//! `keepLastValue(seriesList, limit=inf)`: fills runs of at most `limit` nulls with the value
//! before them (a trailing run too).

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, limit=inf)",
    description: "Replaces runs of up to limit null points with the last non-null value before them.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("limit", ParamType::IntOrInf).default(Literal::Float(f64::INFINITY)),
    ],
    run: |_, args| {
        let limit = args.float(1).unwrap_or(f64::INFINITY);
        let mut list = args.series(0);
        for s in &mut list {
            s.name = format!("keepLastValue({})", s.name);
            s.path_expression = s.name.clone();
            let mut run = 0usize;
            let mut last: Option<f64> = None;
            let n = s.values.len();
            for i in 0..=n {
                let v = if i < n { s.values[i] } else { Some(f64::NAN) };
                if v.is_none() {
                    run += 1;
                    continue;
                }
                if run > 0
                    && run as f64 <= limit
                    && let Some(l) = last
                {
                    for slot in &mut s.values[i - run..i] {
                        *slot = Some(l);
                    }
                }
                run = 0;
                last = v;
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn fills_short_runs() {
        let out = eval("keepLastValue(g.gaps)");
        assert_eq!(names(&out), ["keepLastValue(g.gaps)"]);
        // g.gaps = 1, None, None, 4, None
        assert_eq!(
            vals(&out[0]),
            [Some(1.0), Some(1.0), Some(1.0), Some(4.0), Some(4.0)]
        );
        let out = eval("keepLastValue(g.gaps, 1)");
        assert_eq!(vals(&out[0]), [Some(1.0), None, None, Some(4.0), Some(4.0)]);
    }
}
