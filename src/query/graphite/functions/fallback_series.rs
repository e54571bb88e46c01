//! `fallbackSeries(seriesList, fallback)`: the fallback when the list is empty.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Special",
    signature: "(seriesList, fallback)",
    description: "Returns fallback when seriesList is empty, else seriesList.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("fallback", ParamType::SeriesList).required(),
    ],
    run: |_, args| {
        let list = args.series(0);
        Ok(if list.is_empty() {
            args.series(1)
        } else {
            list
        })
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn falls_back_when_empty() {
        assert_eq!(names(&eval("fallbackSeries(no.such, a.x)")), ["a.x"]);
        assert_eq!(names(&eval("fallbackSeries(a.y, a.x)")), ["a.y"]);
    }
}
