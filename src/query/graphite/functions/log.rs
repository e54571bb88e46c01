//! `log(seriesList, base=10)`: logarithm; zero and negative values become null.

use super::{FunctionDef, Literal, Param, ParamType};
use crate::query::graphite::eval::Value;
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, base=10)",
    description: "Takes the logarithm of each value in the given base; values at or below zero become null.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        // graphite-web's schema says integer, but it does not enforce its schema (by default)
        // and `math.log` takes any base: log(x, 2.5) works there
        Param::new("base", ParamType::Float).default(Literal::Int(10)),
    ],
    run: |_, args| {
        // the name and tag show the base as Python's `str()` does: `2`, `2.5`, `2.0`
        let (base, text) = match args.get(1) {
            Some(Value::Int(i)) => (*i as f64, i.to_string()),
            Some(Value::Bool(b)) => (f64::from(u8::from(*b)), b.to_string()),
            _ => match args.float(1) {
                Some(f) => (f, format_py_float(f)),
                None => (10.0, "10".to_string()),
            },
        };
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                // Python's math.log(x, base) is ln(x) / ln(base)
                let values = s
                    .points()
                    .into_iter()
                    .map(|v| v.filter(|x| *x > 0.0).map(|x| x.ln() / base.ln()))
                    .collect();
                s.tags.insert("log".into(), text.clone());
                s.derive(format!("log({}, {text})", s.name), values)
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

    // graphite-web (which does not enforce its "integer" schema) takes a fractional base and
    // names it with Python's str(): log(a.x, 2.5), tag log=2.5
    #[test]
    fn fractional_base() {
        let out = eval("log(a.x, 2.5)");
        assert_eq!(names(&out), ["log(a.x, 2.5)"]);
        assert_eq!(out[0].tags["log"], "2.5");
        assert_eq!(vals(&out[0])[3], Some(4f64.ln() / 2.5f64.ln()));
        assert_eq!(names(&eval("log(a.x, 2.0)")), ["log(a.x, 2.0)"]);
    }
}
