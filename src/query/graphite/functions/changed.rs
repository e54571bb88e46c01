//! `changed(seriesList)`: 1 where the value differs from the last non-null one, else 0.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList)",
    description: "1 where the value changed from the previous non-null value, 0 elsewhere.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.name = format!("changed({})", s.name);
            s.path_expression = s.name.clone();
            let mut previous: Option<f64> = None;
            for v in &mut s.values {
                let value = *v;
                *v = Some(match (previous, value) {
                    (None, _) => {
                        previous = value;
                        0.0
                    }
                    (Some(p), Some(x)) if p != x => {
                        previous = value;
                        1.0
                    }
                    _ => 0.0,
                });
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn flags_changes() {
        let out = eval("changed(g.gaps)");
        assert_eq!(names(&out), ["changed(g.gaps)"]);
        assert_eq!(
            vals(&out[0]),
            [Some(0.0), Some(0.0), Some(0.0), Some(1.0), Some(0.0)]
        );
    }
}
