//! `integral(seriesList)`: running sum, nulls stay null and do not reset it.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "The running sum of the values over time; null points stay null.",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let list = args.series(0);
        Ok(list
            .into_iter()
            .map(|mut s| {
                let mut acc = 0.0;
                let values = s
                    .points()
                    .into_iter()
                    .map(|v| {
                        v.map(|x| {
                            acc += x;
                            acc
                        })
                    })
                    .collect();
                s.tags.insert("integral".into(), "1".into());
                s.derive(format!("integral({})", s.name), values)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn running_sum() {
        let out = eval("integral(a.x)");
        assert_eq!(names(&out), ["integral(a.x)"]);
        assert_eq!(vals(&out[0]), [Some(1.0), None, Some(4.0), Some(8.0)]);
    }
}
