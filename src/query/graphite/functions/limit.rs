//! `limit(seriesList, n)`: the first n series (Python slice: negative counts from the end).

use super::highest::python_slice_end;
use super::{FunctionDef, Param, ParamType};

pub static DEF: FunctionDef = FunctionDef {
    group: "Filter Series",
    signature: "(seriesList, n)",
    description: "Only the first n series.",
    params: &[
        Param::new("seriesList", ParamType::SeriesList).required(),
        Param::new("n", ParamType::Integer).required(),
    ],
    run: |_, args| {
        let n = args
            .int(1)
            .ok_or_else(|| args.bad("n must be an integer"))?;
        let mut list = args.series(0);
        list.truncate(python_slice_end(n, list.len()));
        Ok(list)
    },
};

#[cfg(test)]
mod tests {
    use crate::query::graphite::functions::tests::{eval, names};

    #[test]
    fn first_n() {
        assert_eq!(names(&eval("limit(a.*, 1)")), ["a.x"]);
        assert_eq!(names(&eval("limit(a.*, -1)")), ["a.x"]);
        assert!(eval("limit(a.*, 0)").is_empty());
    }
}
