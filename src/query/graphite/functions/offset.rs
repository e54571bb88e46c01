//! `offset(seriesList, factor)`: adds a constant to every non-null value.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::{format_g, format_py_float};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, factor)",
    description: "Adds a constant to each non-null value.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("factor", ParamType::Float).required(),
    ],
    run: |_, args| {
        let factor = args
            .float(1)
            .ok_or_else(|| args.bad("factor must be a number"))?;
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("offset".into(), format_py_float(factor));
            s.name = format!("offset({},{})", s.name, format_g(factor));
            s.path_expression = s.name.clone();
            for v in s.values.iter_mut().flatten() {
                *v += factor;
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn adds_to_non_null_values() {
        let out = eval("offset(a.x, -1.5)");
        assert_eq!(names(&out), ["offset(a.x,-1.5)"]);
        assert_eq!(vals(&out[0]), [Some(-0.5), None, Some(1.5), Some(2.5)]);
    }
}
