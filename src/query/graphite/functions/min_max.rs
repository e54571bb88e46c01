//! `minMax(seriesList)`: scales each series to 0..1 by its own minimum and maximum (a flat
//! series becomes 0).

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Transform",
    signature: "(seriesList)",
    description: "Scales each series to the range 0 to 1 (min-max normalization).",
    params: &[Param::new("seriesList", ParamType::SeriesList).required()],
    run: |_, args| {
        let mut list = args.series(0);
        for s in &mut list {
            s.name = format!("minMax({})", s.name);
            s.path_expression = s.name.clone();
            let pts = s.points();
            let min = pts
                .iter()
                .flatten()
                .copied()
                .reduce(f64::min)
                .unwrap_or(0.0);
            let max = pts
                .iter()
                .flatten()
                .copied()
                .reduce(f64::max)
                .unwrap_or(0.0);
            for v in s.values.iter_mut().flatten() {
                *v = if max == min {
                    0.0
                } else {
                    (*v - min) / (max - min)
                };
            }
        }
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names, vals};

    #[test]
    fn zero_to_one() {
        let out = eval("minMax(a.y)");
        assert_eq!(names(&out), ["minMax(a.y)"]);
        assert_eq!(
            vals(&out[0]),
            [Some(0.0), Some(1.0 / 3.0), Some(2.0 / 3.0), Some(1.0)]
        );
    }
}
