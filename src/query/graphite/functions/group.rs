//! `group(*seriesLists)`: the lists concatenated, in order.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Combine",
    signature: "(*seriesLists)",
    description: "Concatenates several series lists into one.",
    params: &[Param::new("seriesLists", ParamType::SeriesList).multiple()],
    run: |_, args| Ok(args.series_lists(0).into_iter().flatten().collect()),
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn concatenates() {
        assert_eq!(names(&eval("group(a.y, a.x, no.such)")), ["a.y", "a.x"]);
    }
}
