//! `log(seriesList, base=10)`: logarithm; zero and negative values become null.

use super::{FunctionDef, Literal, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, base=10)",
    description: "Takes the logarithm of each value in the given base; values at or below zero become null.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("base", ParamType::Integer).default(Literal::Int(10)),
    ],
    run: |_, args| {
        let base = args.int(1).unwrap_or(10);
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                // Python's math.log(x, base) is ln(x) / ln(base)
                let values = s
                    .points()
                    .into_iter()
                    .map(|v| v.filter(|x| *x > 0.0).map(|x| x.ln() / (base as f64).ln()))
                    .collect();
                s.tags.insert("log".into(), base.to_string());
                s.derive(format!("log({}, {base})", s.name), values)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn logarithms() {
        let out = eval("log(a.y)");
        assert_eq!(names(&out), ["log(a.y, 10)"]);
        assert_eq!(vals(&out[0])[0], Some(10f64.ln() / 10f64.ln()));
        let out = eval("log(a.x, 2)");
        assert_eq!(vals(&out[0])[3], Some(4f64.ln() / 2f64.ln()));
    }
}
