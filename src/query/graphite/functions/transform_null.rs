//! `transformNull(seriesList, default=0, referenceSeries=None)`: nulls become `default`, or
//! only where some reference series has a value.

use super::{FunctionDef, Literal, Param, ParamType, rows};
use crate::query::graphite::series::{format_g, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, default=0, referenceSeries=None)",
    description: "Replaces null values with default; with referenceSeries, only at timestamps where a reference series has a value.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("default", ParamType::Float).default(Literal::Int(0)),
        Param::new("referenceSeries", ParamType::SeriesList),
    ],
    run: |_, args| {
        let default = args.float_or(1, 0.0);
        // a given default is validated to a float ('0.0'); the untouched default is int 0
        let tag = if args.get(1).is_some() {
            format_py_float(default)
        } else {
            "0".to_string()
        };
        let reference = args.series(2);
        let has_ref = !reference.is_empty();
        let defaults: Option<Vec<Option<f64>>> = has_ref.then(|| {
            rows(&reference)
                .iter()
                .map(|r| r.iter().any(Option::is_some).then_some(default))
                .collect()
        });
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("transformNull".into(), tag.clone());
            if has_ref {
                s.tags.insert("referenceSeries".into(), "1".into());
                s.name = format!(
                    "transformNull({},{},referenceSeries)",
                    s.name,
                    format_g(default)
                );
            } else {
                s.name = format!("transformNull({},{})", s.name, format_g(default));
            }
            s.path_expression = s.name.clone();
            let pts = s.points();
            s.values = match &defaults {
                Some(d) => {
                    let n = pts.len().max(d.len());
                    (0..n)
                        .map(|i| {
                            pts.get(i)
                                .copied()
                                .flatten()
                                .or(d.get(i).copied().flatten())
                        })
                        .collect()
                }
                None => pts.into_iter().map(|v| v.or(Some(default))).collect(),
            };
            s.values_per_point = 1;
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn nulls_become_default() {
        let out = eval("transformNull(a.x, -1)");
        assert_eq!(names(&out), ["transformNull(a.x,-1)"]);
        assert_eq!(out[0].tags["transformNull"], "-1.0");
        assert_eq!(eval("transformNull(a.x)")[0].tags["transformNull"], "0");
        assert_eq!(vals(&out[0]), [Some(1.0), Some(-1.0), Some(3.0), Some(4.0)]);
        let out = eval("transformNull(g.gaps, 0, a.x)");
        assert_eq!(names(&out), ["transformNull(g.gaps,0,referenceSeries)"]);
        // a.x has no value at index 1; it has none at index 4 (shorter)
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(0.0), Some(4.0), None]);
    }
}
