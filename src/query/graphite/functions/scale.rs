//! `scale(seriesList, factor)`: multiplies every value; named `scale(<name>,<%g factor>)`.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::format_g;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList, factor)",
    description: "Multiplies each value by a constant.",
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
            s.tags.insert(
                "scale".into(),
                crate::query::graphite::series::format_py_float(factor),
            );
            s.name = format!("scale({},{})", s.name, format_g(factor));
            s.path_expression = s.name.clone();
            for v in s.values.iter_mut().flatten() {
                *v *= factor;
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn multiplies_and_names_with_percent_g() {
        let out = eval("scale(a.x, 2)");
        assert_eq!(names(&out), ["scale(a.x,2)"]);
        assert_eq!(vals(&out[0]), [Some(2.0), None, Some(6.0), Some(8.0)]);
        assert_eq!(names(&eval("a.x|scale(0.5)")), ["scale(a.x,0.5)"]);
    }
}
