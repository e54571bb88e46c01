//! `absolute(seriesList)`: absolute values.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Replaces each value by its absolute value.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("absolute".into(), "1".into());
            s.name = format!("absolute({})", s.name);
            s.path_expression = s.name.clone();
            for v in s.values.iter_mut().flatten() {
                *v = v.abs();
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn absolute_values() {
        let out = eval("absolute(offset(a.x,-2))");
        assert_eq!(names(&out), ["absolute(offset(a.x,-2))"]);
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(1.0), Some(2.0)]);
    }
}
