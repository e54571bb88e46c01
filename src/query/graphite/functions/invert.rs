//! `invert(seriesList)`: 1/x (graphite-web's `safePow(x, -1)`: zero gives null).

use super::pow::safe_pow;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by its inverse (1/x); zero becomes null.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("invert".into(), "1".into());
            s.name = format!("invert({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .values
                .iter()
                .map(|v| v.and_then(|x| safe_pow(x, -1.0)))
                .collect();
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn inverse() {
        let out = eval("invert(offset(a.x, -1))");
        assert_eq!(names(&out), ["invert(offset(a.x,-1))"]);
        assert_eq!(vals(&out[0]), [None, None, Some(0.5), Some(1.0 / 3.0)]);
    }
}
