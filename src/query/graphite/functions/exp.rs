//! `exp(seriesList)`: Replaces each value by e to its power; overflow becomes null.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by e to its power; overflow becomes null.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("exp".into(), "e".into());
            s.name = format!("exp({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| {
                    v.and_then(|x: f64| Some(x.exp()).filter(|r| r.is_finite() || !x.is_finite()))
                })
                .collect();
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn transcendental() {
        let out = eval("exp(a.x)");
        assert_eq!(names(&out), ["exp(a.x)"]);
        assert_eq!(vals(&out[0])[0], Some(1f64.exp()));
        assert_eq!(vals(&eval("exp(scale(a.y, 100))")[0])[0], None);
        let out = eval("sigmoid(offset(a.x, -1))");
        assert_eq!(vals(&out[0])[0], Some(0.5));
        let out = eval("logit(scale(a.x, 0.25))");
        assert_eq!(names(&out), ["logit(scale(a.x,0.25))"]);
        assert_eq!(
            vals(&out[0]),
            [Some((1.0f64 / 3.0).ln()), None, Some(3f64.ln()), None]
        );
    }
}
