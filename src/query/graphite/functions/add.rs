//! `add(seriesList, constant)`: adds a constant; named with the constant truncated to an
//! integer (graphite-web's `%d`).

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, constant)",
    description: "Adds a constant to each non-null value.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("constant", ParamType::Float).required(),
    ],
    run: |_, args| {
        let c = args
            .float(1)
            .ok_or_else(|| args.bad("constant must be a number"))?;
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("add".into(), format_py_float(c));
            s.name = format!("add({},{})", s.name, c.trunc() as i64);
            s.path_expression = s.name.clone();
            for v in s.values.iter_mut().flatten() {
                *v += c;
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn adds() {
        let out = eval("add(a.x, 1.5)");
        assert_eq!(names(&out), ["add(a.x,1)"]);
        assert_eq!(vals(&out[0]), [Some(2.5), None, Some(4.5), Some(5.5)]);
    }
}
