//! `unique(*seriesLists)`: the first series of each name.

use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(*seriesLists)",
    description: "Keeps the first series of each name.",
    params: &[Param::new("seriesLists", ParamType::SeriesList)
        .required()
        .multiple()],
    run: |_, args| {
        let mut seen = std::collections::HashSet::new();
        Ok(args
            .series_lists(0)
            .into_iter()
            .flatten()
            .filter(|s| seen.insert(s.name.clone()))
            .collect())
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn first_of_each_name() {
        assert_eq!(names(&eval("unique(a.*, a.x, a.y)")), ["a.x", "a.y"]);
    }
}
