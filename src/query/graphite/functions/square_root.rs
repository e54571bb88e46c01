//! `squareRoot(seriesList)`: `safePow(x, 0.5)`; negative values become null.

use super::pow::safe_pow;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by its square root; negative values become null.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("squareRoot".into(), "1".into());
            s.name = format!("squareRoot({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| v.and_then(|x| safe_pow(x, 0.5)))
                .collect();
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn roots() {
        let out = eval("squareRoot(offset(a.x, -2))");
        assert_eq!(names(&out), ["squareRoot(offset(a.x,-2))"]);
        assert_eq!(vals(&out[0]), [None, None, Some(1.0), Some(2f64.sqrt())]);
    }
}
