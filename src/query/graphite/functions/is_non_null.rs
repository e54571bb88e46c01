//! `isNonNull(seriesList)`: 1 where there is a value, 0 where there is none.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "1 for every non-null point, 0 for every null one.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.tags.insert("isNonNull".into(), "1".into());
            s.name = format!("isNonNull({})", s.name);
            s.path_expression = s.name.clone();
            s.values = s
                .points()
                .iter()
                .map(|v| Some(if v.is_some() { 1.0 } else { 0.0 }))
                .collect();
            s.values_per_point = 1;
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn ones_and_zeros() {
        let out = eval("isNonNull(a.x)");
        assert_eq!(names(&out), ["isNonNull(a.x)"]);
        assert_eq!(vals(&out[0]), [Some(1.0), Some(0.0), Some(1.0), Some(1.0)]);
    }
}
