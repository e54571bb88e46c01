//! `delay(seriesList, steps)`: shifts values later by `steps` points (earlier when negative),
//! padding with nulls. As graphite-web, `delay(x, 0)` has no values (`series[:-0]` is empty).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, steps)",
    description: "Shifts each series' values by the given number of points, padding with nulls.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("steps", ParamType::Integer).required(),
    ],
    run: |_, args| {
        let steps = args
            .int(1)
            .ok_or_else(|| args.bad("steps must be an integer"))?;
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                let pts = s.points();
                let n = pts.len();
                let k = usize::try_from(steps.unsigned_abs()).unwrap_or(usize::MAX);
                let values: Vec<Option<f64>> = if steps < 0 {
                    let mut v: Vec<Option<f64>> = pts.iter().skip(k).copied().collect();
                    v.extend(std::iter::repeat_n(None, k.min(n)));
                    v
                } else {
                    let mut v = vec![None; k.min(n)];
                    // Python's series[:-steps]: empty for 0, everything but the last `steps`
                    if steps > 0 {
                        v.extend(pts.iter().take(n.saturating_sub(k)).copied());
                    }
                    v
                };
                s.tags.insert("delay".into(), steps.to_string());
                s.derive(format!("delay({},{steps})", s.name), values)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn shifts_with_python_slices() {
        let out = eval("delay(a.y, 1)");
        assert_eq!(names(&out), ["delay(a.y,1)"]);
        assert_eq!(vals(&out[0]), [None, Some(10.0), Some(20.0), Some(30.0)]);
        let out = eval("delay(a.y, -1)");
        assert_eq!(vals(&out[0]), [Some(20.0), Some(30.0), Some(40.0), None]);
        assert!(vals(&eval("delay(a.y, 0)")[0]).is_empty());
        assert_eq!(vals(&eval("delay(a.y, 9)")[0]), [None; 4]);
    }
}
