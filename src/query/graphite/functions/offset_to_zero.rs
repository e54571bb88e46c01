//! `offsetToZero(seriesList)`: subtracts each series' minimum so it starts at zero.

use super::{FunctionDef, Param, ParamType};
use crate::query::graphite::series::format_py_float;

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Offsets each series by its minimum so its lowest value is zero.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            let min = s.points().into_iter().flatten().reduce(f64::min);
            s.tags.insert(
                "offsetToZero".into(),
                min.map_or("None".into(), format_py_float),
            );
            s.name = format!("offsetToZero({})", s.name);
            s.path_expression = s.name.clone();
            if let Some(m) = min {
                for v in s.values.iter_mut().flatten() {
                    *v -= m;
                }
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn starts_at_zero() {
        let out = eval("offsetToZero(a.y)");
        assert_eq!(names(&out), ["offsetToZero(a.y)"]);
        assert_eq!(
            vals(&out[0]),
            [Some(0.0), Some(10.0), Some(20.0), Some(30.0)]
        );
    }
}
