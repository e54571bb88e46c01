//! `derivative(seriesList)`: difference from the previous point (null next to a null).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "The difference between each value and the one before it.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                let mut prev = None;
                let values = s
                    .points()
                    .into_iter()
                    .map(|v| {
                        let d = match (prev, v) {
                            (Some(p), Some(x)) => Some(x - p),
                            _ => None,
                        };
                        prev = v;
                        d
                    })
                    .collect();
                s.tags.insert("derivative".into(), "1".into());
                s.derive(format!("derivative({})", s.name), values)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn differences() {
        let out = eval("derivative(a.x)");
        assert_eq!(names(&out), ["derivative(a.x)"]);
        assert_eq!(vals(&out[0]), [None, None, None, Some(1.0)]);
    }
}
