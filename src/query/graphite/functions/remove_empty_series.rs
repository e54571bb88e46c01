//! `removeEmptySeries(seriesList, xFilesFactor=None)`: drops series without enough non-null
//! points (by default: without any).

use super::{FunctionDef, Param, ParamType, xff};

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, xFilesFactor=None)",
    description: "Removes series with no non-null points (or fewer than xFilesFactor of them).",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("xFilesFactor", ParamType::Float),
    ],
    run: |_, args| {
        let factor = args.float(1).unwrap_or(0.0);
        let list = args.series(0);
        Ok(list
            .into_iter()
            .filter(|s| {
                let p = s.points();
                xff(p.iter().filter(|v| v.is_some()).count(), p.len(), factor)
            })
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn drops_empty_series() {
        assert_eq!(
            names(&eval("removeEmptySeries(transformNull(a.*))")),
            ["transformNull(a.x,0)", "transformNull(a.y,0)"]
        );
        assert_eq!(
            names(&eval("removeEmptySeries(g.gaps, 0.5)")),
            Vec::<&str>::new()
        );
        assert_eq!(names(&eval("removeEmptySeries(g.gaps, 0.4)")), ["g.gaps"]);
    }
}
